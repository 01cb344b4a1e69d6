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
interface RefRow {
  message_id: string;
  chat_jid: string;
  from_me: boolean | null;
  participant: string | null;
  timestamp: number;
  type: string | null;
  text: string | null;
  raw: unknown;
  deleted_at: number | null;
}

const REF_COLUMNS = 'message_id, chat_jid, from_me, participant, timestamp, type, text, raw, deleted_at';

function toRef(row: RefRow, alt: string | null): MessageRef {
  const fromMe = row.from_me === true;
  return {
    key: { id: row.message_id, remoteJid: row.chat_jid, fromMe, participant: row.participant, remoteJidAlt: alt, participantAlt: null },
    type: row.type ?? 'conversation',
    text: row.text,
    timestamp: Number(row.timestamp),
    raw: row.raw ?? null,
    fromMe,
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}

/** Stored messages of one chat (any accepted form of its JID), in one query; unknown ids are absent. */
export async function findMessageRefs(db: Queryable, tenantId: string, sessionId: string, chatJid: string, messageIds: readonly string[]): Promise<MessageRef[]> {
  const jid = parseJidInput(chatJid);
  if (!jid || messageIds.length === 0) return [];
  const ids = await loadIdentities(db, { tenantId, sessionId }, [jid]);
  const canonical = ids.canonical(jid) ?? jid;
  const rows = await db.query<RefRow>(
    `select ${REF_COLUMNS} from session_messages
     where tenant_id = $1::uuid and session_id = $2::uuid and chat_jid = $3 and message_id = any($4::text[]) and timestamp is not null`,
    [tenantId, sessionId, canonical, [...messageIds]],
  );
  const alt = isPhoneJid(canonical) ? ids.lidFor(canonical) : isLid(canonical) ? (ids.pnOf(canonical) ?? null) : null;
  return rows.map((row) => toRef(row, alt));
}

export async function findMessageRef(db: Queryable, tenantId: string, sessionId: string, chatJid: string, messageId: string): Promise<MessageRef | undefined> {
  const [ref] = await findMessageRefs(db, tenantId, sessionId, chatJid, [messageId]);
  return ref;
}

/** A stored message of the session in whichever chat holds it (a forward may take one from any chat). */
export async function findMessageRefInAnyChat(db: Queryable, tenantId: string, sessionId: string, messageId: string): Promise<MessageRef | undefined> {
  const [row] = await db.query<{ chat_jid: string }>(
    `select chat_jid from session_messages
     where tenant_id = $1::uuid and session_id = $2::uuid and message_id = $3 and timestamp is not null
     order by timestamp desc limit 1`,
    [tenantId, sessionId, messageId],
  );
  return row ? findMessageRef(db, tenantId, sessionId, row.chat_jid, messageId) : undefined;
}
