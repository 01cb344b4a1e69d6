import { STATUS_ORDER, type MessageRecord } from '../domain/message-record.js';
import { cleanJson, cleanText } from './sql.js';

/**
 * SQL fragments of the message store. MESSAGE_MERGE is domain/message-record.ts' mergeRecords
 * written as an ON CONFLICT update (target `m`, incoming `excluded`): keep the two in step.
 */
export const MESSAGE_RECORD_COLUMNS = `chat_jid text, message_id text, from_me boolean, participant text, timestamp bigint,
  type text, text text, quoted_message_id text, push_name text, status text, status_at bigint, edited_at bigint,
  deleted_at bigint, media jsonb, raw jsonb, request_id text, unread_counted boolean`;

export const MESSAGE_INSERT_COLUMNS = `tenant_id, session_id, chat_jid, message_id, from_me, participant, timestamp, type, text,
  quoted_message_id, push_name, status, status_at, edited_at, deleted_at, media, raw, request_id, unread_counted`;

/** The select list matching MESSAGE_INSERT_COLUMNS from a source aliased `r`; $1 tenant, $2 session. */
export const MESSAGE_INSERT_VALUES = `$1, $2, r.chat_jid, r.message_id, r.from_me, r.participant, r.timestamp, r.type,
  case when r.deleted_at is null then r.text end, r.quoted_message_id, r.push_name, r.status, r.status_at, r.edited_at,
  r.deleted_at, case when r.deleted_at is null then r.media end, case when r.deleted_at is null then r.raw end,
  r.request_id, coalesce(r.unread_counted, false)`;

const rank = (expr: string) => `coalesce(array_position(array[${STATUS_ORDER.map((s) => `'${s}'`).join(', ')}]::text[], ${expr}), 0)`;
const gone = `(m.deleted_at is not null or excluded.deleted_at is not null)`;

export const MESSAGE_MERGE = `
  from_me = coalesce(m.from_me, excluded.from_me),
  participant = coalesce(excluded.participant, m.participant),
  timestamp = coalesce(m.timestamp, excluded.timestamp),
  type = coalesce(excluded.type, m.type),
  text = case
    when ${gone} then null
    when excluded.edited_at is not null and (m.edited_at is null or excluded.edited_at > m.edited_at) then excluded.text
    when m.edited_at is not null then m.text
    when excluded.timestamp is not null then coalesce(excluded.text, m.text)
    else m.text end,
  quoted_message_id = coalesce(excluded.quoted_message_id, m.quoted_message_id),
  push_name = coalesce(excluded.push_name, m.push_name),
  status = case when ${rank('excluded.status')} > ${rank('m.status')} then excluded.status else m.status end,
  status_at = case when ${rank('excluded.status')} > ${rank('m.status')} then excluded.status_at else m.status_at end,
  edited_at = greatest(m.edited_at, excluded.edited_at),
  deleted_at = least(m.deleted_at, excluded.deleted_at),
  media = case when ${gone} then null else coalesce(excluded.media, m.media) end,
  raw = case when ${gone} then null else coalesce(excluded.raw, m.raw) end,
  request_id = coalesce(m.request_id, excluded.request_id),
  unread_counted = m.unread_counted or excluded.unread_counted,
  updated_at = now()`;

/**
 * The chat's last message: the incoming one (`excluded`) replaces the stored one (`c`) when it is
 * at least as new, so an edit or delete of the last message refreshes the preview.
 */
const incomingIsLast = `(c.last_message_timestamp is null or (excluded.last_message_timestamp, excluded.last_message_id) >= (c.last_message_timestamp, c.last_message_id))`;
const lastColumns = ['last_message_id', 'last_message_preview', 'last_message_type', 'last_message_from_me', 'last_message_timestamp'];

export const CHAT_LAST_MESSAGE_MERGE = `
  ${lastColumns.map((col) => `${col} = case when excluded.last_message_timestamp is not null and ${incomingIsLast} then excluded.${col} else c.${col} end`).join(',\n  ')},
  last_message_at = greatest(c.last_message_at, excluded.last_message_at)`;

/** A record as a jsonb_to_recordset row (MESSAGE_RECORD_COLUMNS). */
export function recordRow(r: MessageRecord): Record<string, unknown> {
  return {
    chat_jid: r.chatJid,
    message_id: r.messageId,
    from_me: r.fromMe,
    participant: r.participant,
    timestamp: r.timestamp,
    type: cleanText(r.type),
    text: cleanText(r.text),
    quoted_message_id: cleanText(r.quotedMessageId),
    push_name: cleanText(r.pushName),
    status: r.status,
    status_at: r.statusAt,
    edited_at: r.editedAt,
    deleted_at: r.deletedAt,
    media: cleanJson(r.media),
    raw: cleanJson(r.raw),
    request_id: r.requestId,
    unread_counted: r.unreadCounted,
  };
}
