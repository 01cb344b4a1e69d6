import type { Queryable } from '../../../platform/db/db.js';
import type { StoredMessageRef } from '../../sessions/domain/whatsapp-events.js';
import { invalidJid } from '../application/list-messages.query.js';
import { isLid, isPhoneJid, parseJidInput } from '../domain/jid.js';
import { loadIdentities } from './identity-store.js';

/**
 * The command side's view of the store (sending, replying, forwarding, editing, deleting, reacting).
 */

/**
 * The chat JID to use for what a client named: a phone JID, a LID or bare phone digits, device
 * parts dropped, a LID whose phone number is known turned into the phone JID. It is returned for
 * a chat we have nothing of too (a first message to a number). Throws invalid_jid (400) for
 * something that is neither a JID nor a phone number.
 */
export async function resolveChatJid(db: Queryable, tenantId: string, sessionId: string, jidOrPhone: string): Promise<string> {
  const jid = parseJidInput(jidOrPhone);
  if (!jid) throw invalidJid(jidOrPhone);
  const ids = await loadIdentities(db, { tenantId, sessionId }, [jid]);
  return ids.canonical(jid) ?? jid;
}

export type MessageRef = StoredMessageRef & { fromMe: boolean; deletedAt: number | null };

/**
 * A stored message of the chat (any accepted form of its JID), or undefined when we do not have
 * it (a receipt or edit seen before the message does not count). `key.remoteJid` is the canonical
 * chat JID and `key.remoteJidAlt` its other form when known; `raw` is WhatsApp's whole message
 * when STORE_RAW_MESSAGES kept it. A deleted message comes back with `deletedAt` set and no text.
 */
export async function findMessageRef(db: Queryable, tenantId: string, sessionId: string, chatJid: string, messageId: string): Promise<MessageRef | undefined> {
  const jid = parseJidInput(chatJid);
  if (!jid) return undefined;
  const ids = await loadIdentities(db, { tenantId, sessionId }, [jid]);
  const canonical = ids.canonical(jid) ?? jid;
  const [row] = await db.query<{
    from_me: boolean | null;
    participant: string | null;
    timestamp: number;
    type: string | null;
    text: string | null;
    raw: unknown;
    deleted_at: number | null;
  }>(
    `select from_me, participant, timestamp, type, text, raw, deleted_at from session_messages
     where tenant_id = $1::uuid and session_id = $2::uuid and chat_jid = $3 and message_id = $4 and timestamp is not null`,
    [tenantId, sessionId, canonical, messageId],
  );
  if (!row) return undefined;
  const fromMe = row.from_me === true;
  const alt = isPhoneJid(canonical) ? ids.lidFor(canonical) : isLid(canonical) ? (ids.pnOf(canonical) ?? null) : null;
  return {
    key: { id: messageId, remoteJid: canonical, fromMe, participant: row.participant, remoteJidAlt: alt, participantAlt: null },
    type: row.type ?? 'conversation',
    text: row.text,
    timestamp: Number(row.timestamp),
    raw: row.raw ?? null,
    fromMe,
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}
