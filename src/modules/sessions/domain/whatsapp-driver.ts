import type { Readable } from 'node:stream';
import type { Logger } from '../../../platform/logger.js';
import type { WaMessageKey, WhatsAppCommand, WhatsAppCommandResult, WhatsAppEvent } from './whatsapp-events.js';

/**
 * The port between wahub and WhatsApp. Two drivers implement it: Baileys (production) and the
 * simulator (tests, demos, benchmarks). Nothing outside the drivers knows Baileys' types.
 */

/** Why a connection closed, in wahub's words. The Baileys driver maps DisconnectReason codes to these. */
export type CloseReason =
  | 'restart_required' // 515 after the first scan / pairing: reconnect at once
  | 'connection_lost' // 408 after registration, 428, network errors: transient
  | 'unavailable' // 503 and 500-class server trouble: transient
  | 'bad_session' // 500 badSession: transient, retried with backoff
  | 'qr_timeout' // the QR refs ran out before a scan
  | 'logged_out' // 401, 403, 411: the login is gone; auth state must be wiped
  | 'connection_replaced' // 440: another client took over this login; never reconnect in a loop
  | 'version_outdated' // 405: WhatsApp rejects our client version
  | 'closed_by_us'; // close() or logout() was called

export interface ConnectionOpen {
  /** The account's phone number, digits only (e.g. "51999999999"). */
  phone: string;
  /** The account's own JID (phone form) and LID, when WhatsApp told us. */
  jid: string;
  lid: string | null;
  name: string | null;
}

export interface ConnectionClose {
  reason: CloseReason;
  /** The raw status code when there was one (Baileys' DisconnectReason), for logs. */
  statusCode: number | null;
  message: string | null;
}

export interface ConnectionListener {
  /** A new QR to show; each QR is announced once. */
  onQr(qr: string, expiresAt: Date): void;
  /** A pairing code to type on the phone (Linked devices → link with phone number). */
  onPairingCode(code: string, expiresAt: Date): void;
  onOpen(open: ConnectionOpen): void;
  /** The connection is dead after this; the worker decides whether to connect again. */
  onClose(close: ConnectionClose): void;
  /** Messages, receipts, edits, deletes, reactions, contacts, presence, history: in the order they happened. */
  onEvents(events: WhatsAppEvent[]): void;
}

/**
 * Fencing for everything a connection persists: writes succeed only while the worker still holds
 * the lease of the session's shard at this epoch (see session_shard_leases).
 */
export interface LeaseFence {
  shard: number;
  owner: string;
  epoch: number;
}

/** A fenced write found the lease gone (expired, or taken over at a newer epoch): nothing was written. */
export class LeaseLostError extends Error {
  constructor(
    readonly fence: LeaseFence,
    readonly sessionId?: string,
  ) {
    super(`lease of shard ${fence.shard} at epoch ${fence.epoch} is no longer held by ${fence.owner}${sessionId ? ` (session ${sessionId})` : ''}`);
    this.name = 'LeaseLostError';
  }
}

/** WhatsApp refused a command (or it cannot be made): reported as `session.command.failed`. */
export class WhatsAppCommandError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** true: trying again later may work (not connected, timeout); false: it never will (e.g. 463). */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'WhatsAppCommandError';
  }
}

/**
 * A media download failed. `retryable` false: it never will work (not a media message, no key);
 * true: a later try may (network, WhatsApp's CDN, the phone did not re-upload yet).
 */
export class MediaDownloadError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'MediaDownloadError';
  }
}

/** What a media download needs of a message: its key and the library's whole message (WaMessage.raw). */
export interface MediaMessageRef {
  key: WaMessageKey;
  raw: unknown;
}

/** Streams that travel beside a command (not serialisable, so not in it). */
export interface CommandAttachments {
  /** The bytes of `command.media` for a send with media. The connection consumes or destroys it. */
  media?: Readable;
}

export interface ConnectOptions {
  tenantId: string;
  sessionId: string;
  fence: LeaseFence;
  /** Pair by phone number instead of QR while not registered (digits only). */
  pairingPhone: string | null;
  listener: ConnectionListener;
  logger: Logger;
}

export interface WhatsAppConnection {
  /**
   * Runs a command towards WhatsApp. A send resolves with the message it created, and the driver
   * reports that message exactly once, as a `messages.upsert` (append) carrying the requestId.
   * Rejects with WhatsAppCommandError when WhatsApp (or the driver) refuses it. A send with
   * `media` needs `attachments.media`, the file's bytes.
   */
  execute(command: WhatsAppCommand, attachments?: CommandAttachments): Promise<WhatsAppCommandResult>;
  /**
   * Streams the decrypted bytes of a message's media (image, video, audio, document, sticker).
   * Expired links are re-requested from the phone (Baileys' re-upload request) on this live
   * connection. The stream errors when it would exceed `maxBytes`. Rejects with MediaDownloadError
   * (or WhatsAppCommandError 'not_connected' when the connection is not open).
   */
  downloadMedia(message: MediaMessageRef, options: { maxBytes: number }): Promise<Readable>;
  /** Closes the socket and keeps the login (the session can resume without a new scan). */
  close(): Promise<void>;
  /** Logs out of WhatsApp (the phone drops this linked device) and closes. */
  logout(): Promise<void>;
}

export interface WhatsAppDriver {
  readonly name: 'baileys' | 'simulator';
  connect(options: ConnectOptions): Promise<WhatsAppConnection>;
  /** Deletes every stored credential and key of a session (after logout, 401/403/411, or DELETE). */
  wipeAuthState(sessionId: string): Promise<void>;
  /** Whether stored credentials exist and are registered (a start can resume without a QR). */
  hasRegisteredAuthState(sessionId: string): Promise<boolean>;
}
