import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID_RE.test(value);

/**
 * A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, then randomness.
 * Event ids use it so a WebSocket client's `since=<eventId>` tells the hub where in the stream to look.
 */
export function newUuidV7(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The milliseconds a version 7 UUID was made at, or null for any other UUID. */
export function uuidV7Time(id: string): number | null {
  if (!isUuid(id) || id[14] !== '7') return null;
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
