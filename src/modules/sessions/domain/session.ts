/**
 * A tenant's WhatsApp session. Statuses:
 *   starting     the API asked a worker to connect
 *   qr           waiting for the QR to be scanned
 *   pairing      waiting for the pairing code to be typed on the phone
 *   connecting   (re)connecting with stored credentials
 *   connected    online
 *   stopped      closed on request; the login is kept and a start resumes it without a QR
 *   disconnected closed by WhatsApp or an error (see disconnectedReason)
 */
export const SESSION_STATUSES = ['starting', 'qr', 'pairing', 'connecting', 'connected', 'stopped', 'disconnected'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses in which a worker holds (or is getting) a connection: the session must run. */
export const RUNNING_STATUSES: readonly SessionStatus[] = ['starting', 'qr', 'pairing', 'connecting', 'connected'];

export const isRunning = (status: SessionStatus): boolean => RUNNING_STATUSES.includes(status);

/** The seed's SessionPrimitives, field for field. */
export interface SessionPrimitives {
  id: string;
  tenantId: string;
  status: SessionStatus;
  phone: string | null;
  qr: string | null;
  qrExpiresAt: string | null;
  connectedAt: string | null;
  disconnectedAt: string | null;
  disconnectedReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Reasons reported in session.status.disconnected, beyond the driver's close reasons. */
export type DisconnectReason =
  | 'stopped'
  | 'deleted'
  | 'logged_out'
  | 'connection_lost'
  | 'connection_replaced'
  | 'version_outdated'
  | 'qr_timeout'
  | 'unavailable'
  | 'bad_session';

/** Commands the API sends to the session workers on `session-commands:{shard}`. */
export const SESSION_COMMANDS = {
  start: 'session.start',
  stop: 'session.stop',
  logout: 'session.logout',
  sendMessage: 'session.sendMessage',
  editMessage: 'session.editMessage',
  deleteMessage: 'session.deleteMessage',
  reactMessage: 'session.reactMessage',
  readMessages: 'session.readMessages',
} as const;

/** FNV-1a: a stable, cheap hash so every process maps a session to the same shard. */
export function shardOf(sessionId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Digits only, 7 to 15 of them (E.164 without the plus). */
export function normalisePhone(input: string): string | null {
  const digits = input.replace(/[\s()+\-.]/g, '');
  return /^\d{7,15}$/.test(digits) ? digits : null;
}
