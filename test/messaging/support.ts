import { MemoryStreamBus } from '../../src/events/bus/memory-stream-bus.js';
import type { StreamEntry } from '../../src/events/bus/stream-bus.js';
import { EventConsumer } from '../../src/events/consumers/event-consumer.js';
import { processOnce } from '../../src/events/consumers/inbox.js';
import type {
  ContactSummary,
  ContactsUpsertPayload,
  HistorySyncFull,
  HistorySyncPayload,
  MessageStatusUpdate,
  MessageSummary,
  MessagesDeletePayload,
  MessagesEditPayload,
  MessagesReactionPayload,
  MessagesUpdatePayload,
  MessagesUpsertPayload,
} from '../../src/events/contracts/session-events.js';
import { EVENT_LIST_CAP } from '../../src/events/contracts/session-events.js';
import { envelope, toStreamFields, type EventEnvelope } from '../../src/events/envelope.js';
import type { Db, Queryable } from '../../src/platform/db/db.js';
import { newId } from '../../src/platform/ids.js';
import type { LidMapping, WaChat, WaContact } from '../../src/modules/sessions/domain/whatsapp-events.js';
import { messagingProjectionHandlers, PROJECTIONS_GROUP, type ChatsUpsertPayload, type LidMappingPayload } from '../../src/modules/chats/index.js';
import { silentLogger } from '../events/helpers.js';

export interface Scope {
  tenantId: string;
  sessionId: string;
}

/** A tenant with a live session, as the sessions module leaves them. */
export async function seedSession(db: Queryable, tenantId: string = newId()): Promise<Scope> {
  const sessionId = newId();
  await db.query(`insert into tenants (id, name) values ($1, 'test') on conflict do nothing`, [tenantId]);
  await db.query(`insert into sessions (id, tenant_id, status, phone) values ($1, $2, 'connected', '51911111111')`, [sessionId, tenantId]);
  return { tenantId, sessionId };
}

/** A stream entry as the worker appends it: the event in `data`, capped lists whole in `full`. */
export type AnyEvent = EventEnvelope<{ tenantId: string }>;

export interface Delivery {
  event: AnyEvent;
  full?: unknown;
}

export const fieldsOf = (d: Delivery) => {
  const fields = toStreamFields(d.event as EventEnvelope);
  if (d.full !== undefined) fields.full = JSON.stringify(d.full);
  return fields;
};

/** Drives the projection handlers as the consumer does: each delivery in a transaction with the inbox. */
export class Projector {
  private readonly handlers = messagingProjectionHandlers();
  private entry = 0;
  readonly consumer: EventConsumer;

  constructor(readonly db: Db) {
    this.consumer = new EventConsumer({
      db,
      bus: new MemoryStreamBus({ maxLen: 1000 }),
      logger: silentLogger,
      group: PROJECTIONS_GROUP,
      handlers: this.handlers,
      claimIdleMs: 60_000,
      maxDeliveries: 5,
    });
  }

  /** Applies deliveries one transaction each; a handler's error is thrown. Returns whether each ran. */
  async apply(...deliveries: (Delivery | AnyEvent)[]): Promise<boolean[]> {
    const ran: boolean[] = [];
    for (const item of deliveries) {
      const d = 'event' in item ? item : { event: item };
      const handler = this.handlers[d.event.type];
      if (!handler) throw new Error(`no handler for ${d.event.type}`);
      const entryId = `${++this.entry}-0`;
      ran.push(await processOnce(this.db, PROJECTIONS_GROUP, d.event.eventId, (tx) => handler(d.event as EventEnvelope, tx, { entryId, fields: fieldsOf(d) })));
    }
    return ran;
  }

  /** Hands deliveries to the consumer as one stream read (one transaction); returns the failed entry ids. */
  async batch(...deliveries: (Delivery | AnyEvent)[]): Promise<string[]> {
    const entries: StreamEntry[] = deliveries.map((item) => ({ id: `${++this.entry}-0`, fields: fieldsOf('event' in item ? item : { event: item }) }));
    return this.consumer.handleBatch(entries);
  }
}

/** The same event again as a new event (new id): what a worker re-emitting it would produce. */
export const reissued = (d: Delivery | AnyEvent): Delivery => {
  const x = 'event' in d ? d : { event: d };
  return { event: { ...x.event, eventId: newId() }, full: x.full };
};

export const PHONE = '51999999999@s.whatsapp.net';
export const PHONE2 = '51888888888@s.whatsapp.net';
export const LID = '123456789012345@lid';

let seq = 0;
export const messageId = () => `MSG${Date.now().toString(36).toUpperCase()}${(++seq).toString().padStart(6, '0')}`;

export function summary(fields: Partial<MessageSummary> & { remoteJid: string }): MessageSummary {
  return {
    id: fields.id ?? messageId(),
    fromMe: false,
    participant: null,
    timestamp: 1_767_220_000,
    type: 'conversation',
    text: 'Hola',
    quotedMessageId: null,
    pushName: null,
    status: null,
    remoteJidAlt: null,
    participantAlt: null,
    media: null,
    ...fields,
  };
}

/** Builders of the events the worker emits for one session, payloads as session-events.ts types them. */
export function events(scope: Scope) {
  const { tenantId, sessionId } = scope;
  const at = (seconds?: number) => (seconds === undefined ? new Date() : new Date(seconds * 1000));
  return {
    upsert(messages: MessageSummary[], options: { upsertType?: 'notify' | 'append'; requestId?: string | null } = {}): EventEnvelope<MessagesUpsertPayload> {
      return envelope('session.messages.upsert', sessionId, {
        tenantId,
        upsertType: options.upsertType ?? 'notify',
        requestId: options.requestId ?? null,
        messagesCount: messages.length,
        messages,
      });
    },
    history(full: Partial<HistorySyncFull>, options: { syncType?: string } = {}): Delivery {
      const whole: HistorySyncFull = { chats: [], contacts: [], messages: [], lidMappings: [], ...full };
      const event = envelope<HistorySyncPayload>('session.history.sync', sessionId, {
        tenantId,
        syncType: options.syncType ?? 'RECENT',
        progress: 55,
        isLatest: false,
        chatsCount: whole.chats.length,
        contactsCount: whole.contacts.length,
        messagesCount: whole.messages.length,
        messagesTruncated: whole.messages.length > EVENT_LIST_CAP,
        messages: whole.messages.slice(0, EVENT_LIST_CAP),
      });
      return { event, full: whole };
    },
    update(updates: MessageStatusUpdate[], source: 'receipt' | 'group-receipt' = 'receipt'): EventEnvelope<MessagesUpdatePayload> {
      return envelope('session.messages.update', sessionId, { tenantId, updatesCount: updates.length, updates, source });
    },
    edit(edits: MessagesEditPayload['edits']): EventEnvelope<MessagesEditPayload> {
      return envelope('session.messages.edit', sessionId, { tenantId, editsCount: edits.length, edits });
    },
    deleteMessages(deletes: { messageId: string; chatJid: string; deletedAt: number }[]): EventEnvelope<MessagesDeletePayload> {
      return envelope<MessagesDeletePayload>('session.messages.delete', sessionId, { tenantId, scope: 'message', deletesCount: deletes.length, deletes });
    },
    clearChat(chatJid: string, atSeconds?: number): EventEnvelope<MessagesDeletePayload> {
      return envelope<MessagesDeletePayload>('session.messages.delete', sessionId, { tenantId, scope: 'chat', chatJid, deletesCount: 0, deletes: [] }, at(atSeconds));
    },
    reaction(reactions: MessagesReactionPayload['reactions']): EventEnvelope<MessagesReactionPayload> {
      return envelope('session.messages.reaction', sessionId, { tenantId, reactionsCount: reactions.length, reactions, source: 'event' });
    },
    contacts(contacts: ContactSummary[], full?: WaContact[]): Delivery {
      const event = envelope<ContactsUpsertPayload>('session.contacts.upsert', sessionId, {
        tenantId,
        contactsCount: contacts.length,
        contactsTruncated: contacts.length > EVENT_LIST_CAP,
        contacts: contacts.slice(0, EVENT_LIST_CAP),
        source: 'event',
      });
      return full ? { event, full: { contacts: full } } : { event };
    },
    chats(chats: WaChat[]): EventEnvelope<ChatsUpsertPayload> {
      return envelope('session.chats.upsert', sessionId, { tenantId, chatsCount: chats.length, chats });
    },
    lidMapping(mappings: LidMapping[]): EventEnvelope<LidMappingPayload> {
      return envelope('session.lid.mapping', sessionId, { tenantId, mappings });
    },
    disconnected(reason: string): EventEnvelope {
      return envelope('session.status.disconnected', sessionId, { tenantId, reason, disconnectedAt: new Date().toISOString() });
    },
  };
}

/** Rows of the projection, for assertions. */
export function store(db: Queryable, scope: Scope) {
  const p = [scope.sessionId];
  return {
    chats: () => db.query<Record<string, any>>(`select * from session_chats where session_id = $1 order by jid`, p),
    chat: async (jid: string) => (await db.query<Record<string, any>>(`select * from session_chats where session_id = $1 and jid = $2`, [scope.sessionId, jid]))[0] as Record<string, any>,
    messages: () => db.query<Record<string, any>>(`select * from session_messages where session_id = $1 order by chat_jid, timestamp nulls first, message_id`, p),
    message: async (chatJid: string, id: string) =>
      (await db.query<Record<string, any>>(`select * from session_messages where session_id = $1 and chat_jid = $2 and message_id = $3`, [scope.sessionId, chatJid, id]))[0] as Record<string, any>,
    reactions: () => db.query<Record<string, any>>(`select * from session_message_reactions where session_id = $1 order by chat_jid, message_id, actor_jid`, p),
    contacts: () => db.query<Record<string, any>>(`select * from session_contacts where session_id = $1 order by id`, p),
    mappings: () => db.query<Record<string, any>>(`select lid, pn from session_lid_mappings where session_id = $1 order by lid`, p),
    /** Everything, without bookkeeping times: two stores that should be equal compare equal. */
    async snapshot() {
      const strip = (rows: Record<string, any>[]) => rows.map(({ created_at, updated_at, tenant_id, session_id, ...rest }) => rest);
      return {
        chats: strip(await this.chats()),
        messages: strip(await this.messages()),
        reactions: strip(await this.reactions()),
        contacts: strip(await this.contacts()),
        mappings: await this.mappings(),
      };
    },
  };
}
