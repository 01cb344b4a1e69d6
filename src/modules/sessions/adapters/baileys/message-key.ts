import {
  areJidsSameUser,
  isHostedLidUser,
  isHostedPnUser,
  isLidUser,
  isPnUser,
  jidDecode,
  jidNormalizedUser,
  toNumber,
  type WAMessageKey,
} from 'baileys';
import type { WaMessageKey } from '../../domain/whatsapp-events.js';

/** Message keys and JIDs between Baileys and wahub's model. Pure functions. */

/**
 * A JID without device or agent ('51999999999:12@s.whatsapp.net' → '51999999999@s.whatsapp.net'),
 * hosted forms folded into the plain ones as Baileys' cleanMessage does. Unparsable input is kept.
 */
export function normalizeJid(jid: string | null | undefined): string | null {
  if (!jid) return null;
  if (isHostedPnUser(jid) || isHostedLidUser(jid)) {
    const user = jidDecode(jid)?.user;
    if (user) return `${user}@${isHostedPnUser(jid) ? 's.whatsapp.net' : 'lid'}`;
  }
  return jidNormalizedUser(jid) || jid;
}

/** Baileys' key (v7: with remoteJidAlt / participantAlt, the other address form) as wahub's. */
export function toWaKey(key: WAMessageKey): WaMessageKey {
  return {
    id: key.id ?? '',
    remoteJid: normalizeJid(key.remoteJid) ?? '',
    fromMe: key.fromMe === true,
    participant: normalizeJid(key.participant),
    remoteJidAlt: normalizeJid(key.remoteJidAlt),
    participantAlt: normalizeJid(key.participantAlt),
  };
}

/** wahub's key as Baileys wants it for sends, deletes, edits, reactions and read receipts. */
export function toBaileysKey(key: WaMessageKey): WAMessageKey {
  const out: WAMessageKey = { remoteJid: key.remoteJid, fromMe: key.fromMe, id: key.id };
  // Groups need the author: deleting someone else's message, quoting it, reading it.
  if (key.participant) out.participant = key.participant;
  return out;
}

/** Baileys' buffer identifies messages by chat, id and direction (event-buffer.js stringifyMessageKey). */
export function keyString(key: WAMessageKey | null | undefined): string {
  return `${key?.remoteJid ?? ''},${key?.id ?? ''},${key?.fromMe ? '1' : '0'}`;
}

/** Our own account, to name ourselves as the actor of our reactions. */
export interface Me {
  /** Phone JID without device ('51999999999@s.whatsapp.net'). */
  jid: string | null;
  lid: string | null;
}

export function isMe(jid: string | null | undefined, me: Me): boolean {
  if (!jid) return false;
  return (me.jid !== null && areJidsSameUser(jid, me.jid)) || (me.lid !== null && areJidsSameUser(jid, me.lid));
}

/** Who wrote the message of this key: us, the group participant, or the 1:1 peer. */
export function authorOf(key: WAMessageKey, me: Me): string {
  const other = normalizeJid(key.participant) ?? normalizeJid(key.remoteJid) ?? '';
  return key.fromMe ? (me.jid ?? other) : other;
}

/** A LID ⇄ phone JID pair in either order, or null when it is not one. */
export function toLidMapping(a: string | null | undefined, b: string | null | undefined): { lid: string; pn: string } | null {
  const x = normalizeJid(a);
  const y = normalizeJid(b);
  if (!x || !y) return null;
  if (isLidUser(x) && isPnUser(y)) return { lid: x, pn: y };
  if (isPnUser(x) && isLidUser(y)) return { lid: y, pn: x };
  return null;
}

type LongLike = number | string | { toNumber(): number } | { low: number; high: number } | null | undefined;

/** A protobuf number, Long or numeric string as a finite number, or null. */
export function numberOf(value: LongLike): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'object' ? toNumber(value as Parameters<typeof toNumber>[0]) : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Milliseconds (senderTimestampMs, timestampMs) as Unix seconds; 0 and absent are unknown. */
export function secondsOfMs(value: LongLike): number | null {
  const ms = numberOf(value);
  return ms ? Math.floor(ms / 1000) : null;
}
