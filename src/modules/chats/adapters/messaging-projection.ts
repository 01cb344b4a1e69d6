import type { Queryable } from '../../../platform/db/db.js';
import { isUuid } from '../../../platform/ids.js';
import { entryJson, type EventContext, type EventHandler } from '../../../events/consumers/event-consumer.js';
import type { EventEnvelope } from '../../../events/envelope.js';
import type {
  ContactSummary,
  ContactsUpsertPayload,
  HistorySyncFull,
  HistorySyncPayload,
  MessageSummary,
  MessagesDeletePayload,
  MessagesEditPayload,
  MessagesReactionPayload,
  MessagesUpdatePayload,
  MessagesUpsertPayload,
} from '../../../events/contracts/session-events.js';
import type { LidMapping, WaChat, WaContact } from '../../sessions/domain/whatsapp-events.js';
import type { Identities, LidPn } from '../domain/identities.js';
import { isLid, isPhoneJid, isUserJid, mappingOf, normaliseJid, normaliseMapping, phoneJid, phoneOf } from '../domain/jid.js';
import { emptyRecord, STATUS_ORDER, statusRank, type MessageRecord } from '../domain/message-record.js';
import { establishIdentities, loadIdentities } from './identity-store.js';
import {
  clearChat,
  countUnread,
  deleteSessionData,
  upsertChats,
  upsertContacts,
  upsertMessages,
  upsertReactions,
  type ContactRecord,
  type ReactionRecord,
} from './message-store.js';
import { seconds, type SessionScope } from './sql.js';

/** The consumer group (and inbox name) of the messaging projection. */
export const PROJECTIONS_GROUP = 'projections';

/** Event types the worker emits besides the seed's: chat list changes and LID ⇄ phone mappings. */
export interface ChatsUpsertPayload {
  tenantId: string;
  chatsCount: number;
  chats: WaChat[];
}
export interface LidMappingPayload {
  tenantId: string;
  mappings: LidMapping[];
}

/**
 * Message kinds that are not messages of a chat but instructions about other messages (the worker
 * turns them into edit, delete and reaction events); stored as messages they would become previews.
 */
const NOT_CHAT_MESSAGES = new Set(['protocolMessage', 'reactionMessage', 'senderKeyDistributionMessage']);
/** Status updates (stories) are not a chat: as one they would top the chat list with everyone's posts. */
const STATUS_BROADCAST = 'status@broadcast';

type Handler = (event: EventEnvelope, tx: Queryable, context: EventContext) => Promise<void>;

/**
 * The messaging projection: `session.*` events into session_chats, session_messages, reactions,
 * session_contacts and session_lid_mappings. Every handler is idempotent and order-safe on its own
 * (the inbox only saves work): rows merge by rules that do not depend on arrival order.
 */
export function messagingProjectionHandlers(): Record<string, EventHandler> {
  const handlers: Record<string, Handler> = {
    'session.history.sync': async (event, tx, context) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const payload = event.payload as unknown as HistorySyncPayload;
      const full = entryJson<Partial<HistorySyncFull>>(context, 'full');
      await projectBatch(tx, scope, {
        messages: full?.messages ?? payload.messages ?? [],
        chats: full?.chats ?? [],
        contacts: full?.contacts ?? [],
        mappings: full?.lidMappings ?? [],
        notify: false,
        requestId: null,
        fallbackTime: occurredSeconds(event),
      });
    },

    'session.messages.upsert': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const payload = event.payload as unknown as MessagesUpsertPayload;
      await projectBatch(tx, scope, {
        messages: payload.messages ?? [],
        chats: [],
        contacts: [],
        mappings: [],
        notify: payload.upsertType === 'notify',
        requestId: typeof payload.requestId === 'string' ? payload.requestId : null,
        fallbackTime: occurredSeconds(event),
      });
    },

    'session.messages.update': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const payload = event.payload as unknown as MessagesUpdatePayload;
      const updates = payload.updates ?? [];
      const ids = await loadIdentities(tx, scope, updates.map((u) => u.chatJid));
      const records: MessageRecord[] = [];
      for (const u of updates) {
        const chatJid = ids.canonical(u.chatJid);
        if (!chatJid || typeof u.messageId !== 'string' || !STATUS_ORDER.includes(u.status)) continue;
        // One member's receipt in a group says the message reached the group, not that the group read it.
        const status = payload.source === 'group-receipt' && statusRank(u.status) > statusRank('delivered') ? 'delivered' : u.status;
        records.push({ ...emptyRecord(chatJid, u.messageId), status, statusAt: seconds(u.statusAt) ?? occurredSeconds(event) });
      }
      await upsertMessages(tx, scope, records, { touchChats: false });
    },

    'session.messages.edit': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const edits = (event.payload as unknown as MessagesEditPayload).edits ?? [];
      const ids = await loadIdentities(tx, scope, edits.map((e) => e.chatJid));
      const records: MessageRecord[] = [];
      for (const e of edits) {
        const chatJid = ids.canonical(e.chatJid);
        if (!chatJid || typeof e.messageId !== 'string') continue;
        records.push({ ...emptyRecord(chatJid, e.messageId), text: e.text ?? null, editedAt: seconds(e.editedAt) ?? occurredSeconds(event) });
      }
      await upsertMessages(tx, scope, records, { touchChats: true });
    },

    'session.messages.delete': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const payload = event.payload as unknown as MessagesDeletePayload;
      if (payload.scope === 'chat') {
        const ids = await loadIdentities(tx, scope, [payload.chatJid]);
        const jid = ids.canonical(payload.chatJid);
        if (!jid) return;
        await clearChat(tx, scope, { jid, phone: phoneOf(jid), lid: ids.lidFor(jid) }, occurredSeconds(event));
        return;
      }
      const deletes = payload.deletes ?? [];
      const ids = await loadIdentities(tx, scope, deletes.map((d) => d.chatJid));
      const records: MessageRecord[] = [];
      for (const d of deletes) {
        const chatJid = ids.canonical(d.chatJid);
        if (!chatJid || typeof d.messageId !== 'string') continue;
        records.push({ ...emptyRecord(chatJid, d.messageId), deletedAt: seconds(d.deletedAt) ?? occurredSeconds(event) });
      }
      await upsertMessages(tx, scope, records, { touchChats: true });
    },

    'session.messages.reaction': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const reactions = (event.payload as unknown as MessagesReactionPayload).reactions ?? [];
      const ids = await loadIdentities(tx, scope, reactions.flatMap((r) => [r.chatJid, r.actorJid]));
      const records: ReactionRecord[] = [];
      for (const r of reactions) {
        const chatJid = ids.canonical(r.chatJid);
        const actorJid = ids.canonical(r.actorJid);
        if (!chatJid || !actorJid || typeof r.messageId !== 'string') continue;
        records.push({
          chatJid,
          messageId: r.messageId,
          actorJid,
          emoji: r.removed || !r.emoji ? null : r.emoji,
          fromMe: r.fromMe === true,
          reactedAt: seconds(r.reactedAt) ?? occurredSeconds(event),
        });
      }
      await upsertReactions(tx, scope, records);
    },

    'session.contacts.upsert': async (event, tx, context) => {
      // A history batch's contacts travel in its session.history.sync too, which stores them.
      if ((event.payload as unknown as ContactsUpsertPayload).source === 'history') return;
      const scope = await liveScope(tx, event);
      if (!scope) return;
      // The event lists at most EVENT_LIST_CAP contacts; `full` has them all when it was capped.
      const full = entryJson<{ contacts?: WaContact[] }>(context, 'full');
      const contacts = full?.contacts ?? (event.payload as unknown as ContactsUpsertPayload).contacts ?? [];
      await projectBatch(tx, scope, { messages: [], chats: [], contacts, mappings: [], notify: false, requestId: null, fallbackTime: occurredSeconds(event) });
    },

    'session.chats.upsert': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const chats = (event.payload as unknown as ChatsUpsertPayload).chats ?? [];
      await projectBatch(tx, scope, { messages: [], chats, contacts: [], mappings: [], notify: false, requestId: null, fallbackTime: occurredSeconds(event) });
    },

    'session.lid.mapping': async (event, tx) => {
      const scope = await liveScope(tx, event);
      if (!scope) return;
      const mappings = (event.payload as unknown as LidMappingPayload).mappings ?? [];
      await establishIdentities(tx, scope, { mappings: validMappings(mappings), jids: [] });
    },

    'session.status.disconnected': async (event, tx) => {
      if ((event.payload as { reason?: unknown }).reason !== 'deleted') return;
      const scope = await liveScope(tx, event, { includeDeleted: true });
      if (scope) await deleteSessionData(tx, scope);
    },
  };
  return handlers as Record<string, EventHandler>;
}

/**
 * The session the event belongs to, when it is the tenant's and not deleted. Events of a deleted
 * session (the worker may still be logging out) must not bring its rows back.
 */
async function liveScope(tx: Queryable, event: EventEnvelope, options: { includeDeleted?: boolean } = {}): Promise<SessionScope | null> {
  const tenantId = event.payload?.tenantId;
  const sessionId = event.sessionId;
  if (typeof tenantId !== 'string' || !isUuid(tenantId) || typeof sessionId !== 'string' || !isUuid(sessionId)) return null;
  const [row] = await tx.query<{ deleted: boolean }>(`select deleted_at is not null as deleted from sessions where id = $1::uuid and tenant_id = $2::uuid`, [
    sessionId,
    tenantId,
  ]);
  if (!row || (row.deleted && !options.includeDeleted)) return null;
  return { tenantId, sessionId };
}

const occurredSeconds = (event: EventEnvelope): number => {
  const ms = Date.parse(event.occurredOn);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : Math.floor(Date.now() / 1000);
};

const validMappings = (mappings: readonly unknown[]): LidPn[] =>
  mappings.map((m) => normaliseMapping(m as LidMapping)).filter((m): m is LidPn => m !== null);

/** A contact as either shape carries it: WaContact (`phoneJid`) in `full`, ContactSummary (`phone` digits) in events. */
type AnyContact = Partial<WaContact> & Partial<ContactSummary> & { id: string };

interface ContactInput {
  id: string;
  lid: string | null;
  pn: string | null;
  name: string | null;
  notify: string | null;
  imgUrl: string | null;
}

function toContactInput(c: AnyContact): ContactInput | null {
  const id = normaliseJid(c?.id);
  if (!id) return null;
  const lid = normaliseJid(typeof c.lid === 'string' ? (c.lid.includes('@') ? c.lid : `${c.lid}@lid`) : null);
  let pn = normaliseJid(c.phoneJid ?? null);
  if (!pn && typeof c.phone === 'string') pn = c.phone.includes('@') ? normaliseJid(c.phone) : /^\d+$/.test(c.phone) ? phoneJid(c.phone) : null;
  return {
    id,
    lid: isLid(lid) ? lid : isLid(id) ? id : null,
    pn: isPhoneJid(pn) ? pn : isPhoneJid(id) ? id : null,
    name: typeof c.name === 'string' ? c.name : null,
    notify: typeof c.notify === 'string' ? c.notify : null,
    imgUrl: typeof c.imgUrl === 'string' ? c.imgUrl : null,
  };
}

interface Batch {
  messages: readonly MessageSummary[];
  chats: readonly WaChat[];
  contacts: readonly AnyContact[];
  mappings: readonly unknown[];
  /** An upsert of type notify: incoming messages count as unread. */
  notify: boolean;
  requestId: string | null;
  fallbackTime: number;
}

/**
 * Mappings first (every form the batch reveals), then contacts, chats and messages, each as one
 * statement for the whole batch.
 */
async function projectBatch(tx: Queryable, scope: SessionScope, batch: Batch): Promise<void> {
  const contacts = batch.contacts.map(toContactInput).filter((c): c is ContactInput => c !== null);
  const messages = batch.messages.filter(
    (m) => m && typeof m.id === 'string' && typeof m.remoteJid === 'string' && !NOT_CHAT_MESSAGES.has(m.type) && normaliseJid(m.remoteJid) !== STATUS_BROADCAST,
  );

  const mappings: LidPn[] = validMappings(batch.mappings);
  const jids: (string | null | undefined)[] = [];
  for (const c of contacts) {
    if (c.lid && c.pn) mappings.push({ lid: c.lid, pn: c.pn });
    jids.push(c.id);
  }
  for (const m of messages) {
    for (const pair of [mappingOf(m.remoteJid, m.remoteJidAlt), mappingOf(m.participant, m.participantAlt)]) if (pair) mappings.push(pair);
    jids.push(m.remoteJid, m.participant);
  }
  for (const chat of batch.chats) jids.push(chat?.jid);
  const ids = await establishIdentities(tx, scope, { mappings, jids });

  const contactRecords: ContactRecord[] = [];
  for (const c of contacts) {
    const id = c.pn ?? ids.canonical(c.id)!;
    contactRecords.push({ id, phone: phoneOf(id), lid: ids.lidFor(id) ?? c.lid, name: c.name, notify: c.notify, imgUrl: c.imgUrl });
  }
  const records: MessageRecord[] = [];
  const unread: { chatJid: string; messageId: string }[] = [];
  for (const m of messages) {
    const record = toRecord(m, ids, batch);
    if (!record) continue;
    records.push(record);
    if (record.fromMe) continue;
    if (batch.notify) unread.push({ chatJid: record.chatJid, messageId: record.messageId });
    // Whoever writes to us is a contact; their push name is WhatsApp's "notify" name.
    const sender = record.participant ?? record.chatJid;
    if (isUserJid(sender)) contactRecords.push({ id: sender, phone: phoneOf(sender), lid: ids.lidFor(sender), name: null, notify: record.pushName, imgUrl: null });
  }

  await upsertContacts(tx, scope, contactRecords);
  await upsertChats(
    tx,
    scope,
    batch.chats.flatMap((chat) => {
      const jid = ids.canonical(chat?.jid);
      if (!jid) return [];
      return [{ jid, phone: phoneOf(jid), lid: ids.lidFor(jid), name: chat.name ?? null, unreadCount: intOrNull(chat.unreadCount), lastMessageAt: seconds(chat.lastMessageAt) }];
    }),
  );
  await upsertMessages(tx, scope, records, { touchChats: true });
  await countUnread(tx, scope, unread);
}

const intOrNull = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.floor(n)) : null);

function toRecord(m: MessageSummary, ids: Identities, batch: Batch): MessageRecord | null {
  const chatJid = ids.canonical(m.remoteJid);
  if (!chatJid) return null;
  // Baileys may merge an edit or a revoke into the upsert; the summary then carries its time.
  const merged = m as MessageSummary & { editedAt?: unknown; deletedAt?: unknown };
  const timestamp = seconds(m.timestamp) ?? batch.fallbackTime;
  const status = m.status && STATUS_ORDER.includes(m.status) ? m.status : null;
  return {
    chatJid,
    messageId: m.id,
    fromMe: m.fromMe === true,
    participant: m.participant ? ids.canonical(m.participant) : null,
    timestamp,
    type: typeof m.type === 'string' ? m.type : null,
    text: typeof m.text === 'string' ? m.text : null,
    quotedMessageId: typeof m.quotedMessageId === 'string' ? m.quotedMessageId : null,
    pushName: typeof m.pushName === 'string' ? m.pushName : null,
    status,
    statusAt: status ? timestamp : null,
    editedAt: seconds(merged.editedAt),
    deletedAt: seconds(merged.deletedAt),
    media: m.media ?? null,
    raw: m.raw ?? null,
    requestId: m.fromMe === true ? batch.requestId : null,
    unreadCounted: false,
  };
}
