import type { WaMessageStatus } from '../../sessions/domain/whatsapp-events.js';

/**
 * Status only moves forwards. 'failed' ranks above pending and sent (a send the server rejected
 * after it resolved) but below delivered: a receipt proves the message arrived.
 */
export const STATUS_ORDER: readonly WaMessageStatus[] = ['pending', 'sent', 'failed', 'delivered', 'read', 'played'];

export const statusRank = (status: string | null | undefined): number => (status ? STATUS_ORDER.indexOf(status as WaMessageStatus) + 1 : 0);

/**
 * What one event knows about one message. Every projection of a message goes through this shape:
 * a whole message (timestamp set), or only a receipt, an edit or a delete for it (a stub until
 * the message itself arrives). Two records of one message merge by rules that do not depend on
 * their order, so redelivery and out-of-order delivery end in the same row.
 */
export interface MessageRecord {
  chatJid: string;
  messageId: string;
  fromMe: boolean | null;
  participant: string | null;
  /** Unix seconds; null: this record is not the message itself. */
  timestamp: number | null;
  type: string | null;
  text: string | null;
  quotedMessageId: string | null;
  pushName: string | null;
  status: WaMessageStatus | null;
  statusAt: number | null;
  editedAt: number | null;
  deletedAt: number | null;
  media: unknown;
  raw: unknown;
  requestId: string | null;
  unreadCounted: boolean;
}

export function emptyRecord(chatJid: string, messageId: string): MessageRecord {
  return {
    chatJid,
    messageId,
    fromMe: null,
    participant: null,
    timestamp: null,
    type: null,
    text: null,
    quotedMessageId: null,
    pushName: null,
    status: null,
    statusAt: null,
    editedAt: null,
    deletedAt: null,
    media: null,
    raw: null,
    requestId: null,
    unreadCounted: false,
  };
}

const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Merges `incoming` into `current` (same message). The SQL upsert of the message store applies
 * the same rules (keep them in step): the first timestamp stays (pages stay stable); the newest
 * edit's text wins over the original; a delete is final and removes text, media and raw; status
 * takes the higher rank.
 */
export function mergeRecords(current: MessageRecord, incoming: MessageRecord): MessageRecord {
  const deletedAt = min(current.deletedAt, incoming.deletedAt);
  const gone = deletedAt !== null;
  let text: string | null;
  if (gone) text = null;
  else if (incoming.editedAt !== null && (current.editedAt === null || incoming.editedAt > current.editedAt)) text = incoming.text;
  else if (current.editedAt !== null) text = current.text;
  else if (incoming.timestamp !== null) text = incoming.text ?? current.text;
  else text = current.text;
  const statusWins = statusRank(incoming.status) > statusRank(current.status);
  return {
    chatJid: current.chatJid,
    messageId: current.messageId,
    fromMe: current.fromMe ?? incoming.fromMe,
    participant: incoming.participant ?? current.participant,
    timestamp: current.timestamp ?? incoming.timestamp,
    type: incoming.type ?? current.type,
    text,
    quotedMessageId: incoming.quotedMessageId ?? current.quotedMessageId,
    pushName: incoming.pushName ?? current.pushName,
    status: statusWins ? incoming.status : current.status,
    statusAt: statusWins ? incoming.statusAt : current.statusAt,
    editedAt: max(current.editedAt, incoming.editedAt),
    deletedAt,
    media: gone ? null : (incoming.media ?? current.media),
    raw: gone ? null : (incoming.raw ?? current.raw),
    requestId: current.requestId ?? incoming.requestId,
    unreadCounted: current.unreadCounted || incoming.unreadCounted,
  };
}

/** One record per message, merged in order: a bulk upsert may touch each row once only. */
export function mergeByMessage(records: Iterable<MessageRecord>): MessageRecord[] {
  const byKey = new Map<string, MessageRecord>();
  for (const record of records) {
    const key = `${record.chatJid}\u0000${record.messageId}`;
    const current = byKey.get(key);
    byKey.set(key, current ? mergeRecords(current, record) : record);
  }
  return [...byKey.values()];
}
