import type { Queryable } from '../../../platform/db/db.js';
import { isUuid } from '../../../platform/ids.js';
import { entryJson, type EventContext, type EventHandler } from '../../../events/consumers/event-consumer.js';
import type { EventEnvelope } from '../../../events/envelope.js';
import type { HistorySyncFull, MessageSummary } from '../../../events/contracts/session-events.js';
import { MESSAGES_MEDIA_EVENT, type MessageMediaItem, type MessagesMediaPayload } from '../../sessions/domain/message-media.js';
import { emptyRecord, type MessageRecord } from '../domain/message-record.js';
import { loadIdentities } from './identity-store.js';
import { upsertMessages } from './message-store.js';
import type { SessionScope } from './sql.js';

/**
 * The media projection: `session.messages.media` into session_messages.media, the object
 * GET /chats/:jid/messages shows as `media` ({kind, url, mime, size, width, height, duration}).
 *
 * A stored record is marked by its `url` key (a string, or null with a `reason` when the file was
 * not stored). The messages' own events carry WhatsApp's metadata in `media` (no `url`); arriving
 * again later (WhatsApp resends a message in a history chunk, a redelivered upsert) they must not
 * replace a stored record, so the upsert and history handlers are wrapped: media of messages whose
 * row already has a stored record is left out of what they merge.
 */

const KINDS = new Set(['image', 'video', 'audio', 'document', 'sticker']);

type Handlers = Record<string, EventHandler>;

/** The messaging projection's handlers with the media event added and stored media kept. */
export function withMediaProjection(handlers: Handlers): Handlers {
  const out: Handlers = { ...handlers, [MESSAGES_MEDIA_EVENT]: projectMedia };
  for (const type of ['session.messages.upsert', 'session.history.sync']) {
    const inner = handlers[type];
    if (inner) out[type] = keepStoredMedia(inner);
  }
  return out;
}

async function liveScope(tx: Queryable, event: EventEnvelope): Promise<SessionScope | null> {
  const tenantId = event.payload?.tenantId;
  const sessionId = event.sessionId;
  if (typeof tenantId !== 'string' || !isUuid(tenantId) || typeof sessionId !== 'string' || !isUuid(sessionId)) return null;
  const [row] = await tx.query<{ live: boolean }>(`select deleted_at is null as live from sessions where id = $1::uuid and tenant_id = $2::uuid`, [sessionId, tenantId]);
  return row?.live ? { tenantId, sessionId } : null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function validItem(item: Partial<MessageMediaItem> | null | undefined): item is MessageMediaItem {
  return !!item && typeof item.messageId === 'string' && typeof item.chatJid === 'string' && KINDS.has(item.kind as string);
}

const projectMedia: EventHandler = async (event, tx) => {
  const scope = await liveScope(tx, event);
  if (!scope) return;
  const items = ((event.payload as unknown as MessagesMediaPayload).media ?? []).filter(validItem);
  if (items.length === 0) return;
  const ids = await loadIdentities(tx, scope, items.map((i) => i.chatJid));
  const keyed = items.flatMap((item) => {
    const chatJid = ids.canonical(item.chatJid);
    return chatJid ? [{ item, chatJid }] : [];
  });
  const existing = await tx.query<{ chat_jid: string; message_id: string; media: Record<string, unknown> | null }>(
    `select m.chat_jid, m.message_id, m.media from unnest($2::text[], $3::text[]) as k(chat_jid, message_id)
     join session_messages m on m.session_id = $1::uuid and m.chat_jid = k.chat_jid and m.message_id = k.message_id`,
    [scope.sessionId, keyed.map((k) => k.chatJid), keyed.map((k) => k.item.messageId)],
  );
  const current = new Map(existing.map((r) => [`${r.chat_jid}\u0000${r.message_id}`, r.media]));
  const records: MessageRecord[] = [];
  for (const { item, chatJid } of keyed) {
    const before = current.get(`${chatJid}\u0000${item.messageId}`) ?? null;
    // A file already stored stays: a later job that could not fetch it again changes nothing.
    if (before && typeof before.url === 'string' && item.url === null) continue;
    const media: Record<string, unknown> = {
      kind: item.kind,
      url: str(item.url),
      mime: str(item.mime),
      size: num(item.size),
      width: num(item.width),
      height: num(item.height),
      duration: num(item.duration),
      // WhatsApp's name of a document, from the message itself.
      fileName: str(before?.fileName),
    };
    if (typeof item.reason === 'string') media.reason = item.reason;
    // A stub when the message is not stored yet: it takes the message's fields when that comes.
    records.push({ ...emptyRecord(chatJid, item.messageId), media });
  }
  await upsertMessages(tx, scope, records, { touchChats: false });
};

/** Runs a messages handler with the WhatsApp metadata of already stored media left out. */
function keepStoredMedia(handler: EventHandler): EventHandler {
  return async (event, tx, context) => {
    const payload = event.payload as { messages?: MessageSummary[] };
    const full = event.type === 'session.history.sync' ? entryJson<Partial<HistorySyncFull>>(context, 'full') : undefined;
    const all = [...(full?.messages ?? []), ...(payload.messages ?? [])];
    const withMedia = [...new Set(all.filter((m) => m && m.media && typeof m.id === 'string').map((m) => m.id))];
    if (withMedia.length === 0 || typeof event.sessionId !== 'string' || !isUuid(event.sessionId)) return handler(event, tx, context);
    const stored = await tx.query<{ message_id: string }>(
      `select message_id from session_messages where session_id = $1::uuid and message_id = any($2::text[]) and media ? 'url'`,
      [event.sessionId, withMedia],
    );
    if (stored.length === 0) return handler(event, tx, context);
    const keep = new Set(stored.map((r) => r.message_id));
    const strip = (list: MessageSummary[] | undefined) => list?.map((m) => (m && keep.has(m.id) ? { ...m, media: null } : m));
    const nextEvent = { ...event, payload: { ...event.payload, ...(payload.messages ? { messages: strip(payload.messages) } : {}) } } as EventEnvelope;
    const nextContext: EventContext = full?.messages ? { ...context, fields: { ...context.fields, full: JSON.stringify({ ...full, messages: strip(full.messages) }) } } : context;
    return handler(nextEvent, tx, nextContext);
  };
}
