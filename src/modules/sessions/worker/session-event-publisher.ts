import type { Logger } from '../../../platform/logger.js';
import type { StreamBus, StreamFields } from '../../../events/bus/stream-bus.js';
import { envelope, STREAMS, toStreamFields } from '../../../events/envelope.js';
import {
  EVENT_LIST_CAP,
  type ContactSummary,
  type MessageSummary,
} from '../../../events/contracts/session-events.js';
import type { WaContact, WaMessage, WaMessageKey, WhatsAppEvent } from '../domain/whatsapp-events.js';
import { MESSAGES_MEDIA_EVENT, type MessageMediaItem, type MessagesMediaPayload } from '../domain/message-media.js';

export function toMessageSummary(message: WaMessage, includeRaw: boolean): MessageSummary {
  const summary: MessageSummary = {
    id: message.key.id,
    remoteJid: message.key.remoteJid,
    fromMe: message.key.fromMe,
    participant: message.key.participant,
    timestamp: message.timestamp,
    type: message.type,
    text: message.text,
    quotedMessageId: message.quotedMessageId,
    pushName: message.pushName,
    status: message.status,
    remoteJidAlt: message.key.remoteJidAlt,
    participantAlt: message.key.participantAlt,
    media: message.media,
  };
  if (includeRaw && message.raw !== undefined && message.raw !== null) summary.raw = message.raw;
  return summary;
}

const phoneOf = (jid: string | null): string | null => (jid?.endsWith('@s.whatsapp.net') ? jid.split('@')[0]!.split(':')[0]! : null);

function toContactSummary(contact: WaContact): ContactSummary {
  return {
    id: contact.id,
    name: contact.name,
    notify: contact.notify,
    imgUrl: contact.imgUrl,
    phone: phoneOf(contact.phoneJid) ?? phoneOf(contact.id),
    lid: contact.lid ?? (contact.id.endsWith('@lid') ? contact.id : null),
  };
}

const ref = (key: WaMessageKey) => ({ messageId: key.id, chatJid: key.remoteJid });

/** One stream entry: `data` is what WebSocket clients get; `full` carries lists the event caps. */
function entry(type: string, sessionId: string, payload: { tenantId: string } & Record<string, unknown>, full?: unknown): StreamFields {
  const fields = toStreamFields(envelope(type, sessionId, payload));
  if (full !== undefined) fields.full = JSON.stringify(full);
  return fields;
}

/** Turns what a driver reported into the seed's `session.*` events (stream entries), in order. */
export function toSessionEntries(tenantId: string, sessionId: string, events: WhatsAppEvent[], options: { storeRaw: boolean }): StreamFields[] {
  const out: StreamFields[] = [];
  const summary = (m: WaMessage) => toMessageSummary(m, options.storeRaw);
  for (const event of events) {
    switch (event.kind) {
      case 'history.sync': {
        const messages = event.messages.map(summary);
        out.push(
          entry(
            'session.history.sync',
            sessionId,
            {
              tenantId,
              syncType: event.syncType,
              progress: event.progress,
              isLatest: event.isLatest,
              chatsCount: event.chats.length,
              contactsCount: event.contacts.length,
              messagesCount: messages.length,
              messagesTruncated: messages.length > EVENT_LIST_CAP,
              messages: messages.slice(0, EVENT_LIST_CAP),
            },
            { chats: event.chats, contacts: event.contacts, messages, lidMappings: event.lidMappings },
          ),
        );
        if (event.contacts.length > 0) out.push(contactsEntry(tenantId, sessionId, event.contacts, 'history'));
        break;
      }
      case 'messages.upsert': {
        if (event.messages.length === 0) break;
        const messages = event.messages.map(summary);
        out.push(entry('session.messages.upsert', sessionId, { tenantId, upsertType: event.upsertType, requestId: event.requestId, messagesCount: messages.length, messages }));
        break;
      }
      case 'messages.update':
        out.push(
          entry('session.messages.update', sessionId, {
            tenantId,
            updatesCount: event.updates.length,
            updates: event.updates.map((u) => ({
              ...ref(u.key),
              status: u.status,
              statusAt: u.statusAt,
              ...(u.participant ? { participant: u.participant } : {}),
              ...(u.error ? { error: u.error } : {}),
            })),
            source: event.source,
          }),
        );
        break;
      case 'messages.edit':
        out.push(
          entry('session.messages.edit', sessionId, {
            tenantId,
            editsCount: event.edits.length,
            edits: event.edits.map((e) => ({ ...ref(e.key), type: e.type, text: e.text, editedAt: e.editedAt })),
          }),
        );
        break;
      case 'messages.delete':
        out.push(
          event.scope === 'chat'
            ? entry('session.messages.delete', sessionId, { tenantId, scope: 'chat', chatJid: event.chatJid, deletesCount: 0, deletes: [] })
            : entry('session.messages.delete', sessionId, {
                tenantId,
                scope: 'message',
                deletesCount: event.deletes.length,
                deletes: event.deletes.map((d) => ({ ...ref(d.key), deletedAt: d.deletedAt })),
              }),
        );
        break;
      case 'messages.reaction':
        out.push(
          entry('session.messages.reaction', sessionId, {
            tenantId,
            reactionsCount: event.reactions.length,
            reactions: event.reactions.map((r) => ({
              ...ref(r.key),
              actorJid: r.actorJid,
              fromMe: r.fromMe,
              emoji: r.emoji,
              reactedAt: r.reactedAt,
              removed: r.removed,
            })),
            source: 'event',
          }),
        );
        break;
      case 'contacts.upsert':
        out.push(contactsEntry(tenantId, sessionId, event.contacts, 'event'));
        break;
      case 'chats.upsert':
        out.push(entry('session.chats.upsert', sessionId, { tenantId, chatsCount: event.chats.length, chats: event.chats }));
        break;
      case 'presence.update':
        out.push(entry('session.presence.update', sessionId, { tenantId, chatJid: event.chatJid, updatesCount: event.updates.length, updates: event.updates }));
        break;
      case 'lid.mapping':
        out.push(entry('session.lid.mapping', sessionId, { tenantId, mappings: event.mappings }));
        break;
    }
  }
  return out;
}

/** `session.messages.media` as the seed shows it: `{tenantId, mediaCount, media[], source: 'event'}`. */
export function mediaEntry(tenantId: string, sessionId: string, media: MessageMediaItem[]): StreamFields {
  const payload: MessagesMediaPayload = { tenantId, mediaCount: media.length, media, source: 'event' };
  return entry(MESSAGES_MEDIA_EVENT, sessionId, payload as unknown as { tenantId: string } & Record<string, unknown>);
}

function contactsEntry(tenantId: string, sessionId: string, contacts: WaContact[], source: 'event' | 'history'): StreamFields {
  const all = contacts.map(toContactSummary);
  return entry(
    'session.contacts.upsert',
    sessionId,
    { tenantId, contactsCount: all.length, contactsTruncated: all.length > EVENT_LIST_CAP, contacts: all.slice(0, EVENT_LIST_CAP), source },
    source === 'history' || all.length > EVENT_LIST_CAP ? { contacts } : undefined,
  );
}

/**
 * Publishes a session's driver events straight to `domain-events` (no outbox: they come from
 * WhatsApp, not from a transaction of ours), in order, one pipelined append per batch. A failed
 * append is retried with backoff while later batches wait behind it, so order holds.
 */
export class SessionEventPublisher {
  /** Entries handed over and not yet in the stream, in order. */
  private queue: { sessionId: string; entry: StreamFields }[] = [];
  private draining: Promise<void> | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly bus: StreamBus,
    private readonly logger: Logger,
    private readonly options: { storeRaw: boolean; onPublished?: (types: string[]) => void; maxBatch?: number },
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  publish(tenantId: string, sessionId: string, events: WhatsAppEvent[]): Promise<void> {
    return this.publishEntries(sessionId, toSessionEntries(tenantId, sessionId, events, this.options));
  }

  /** Where messages' media is stored (or why it is not), after everything published before it. */
  publishMedia(tenantId: string, sessionId: string, media: MessageMediaItem[]): Promise<void> {
    return this.publishEntries(sessionId, media.length > 0 ? [mediaEntry(tenantId, sessionId, media)] : []);
  }

  /**
   * Queues entries and resolves once they are in the stream. Whatever piles up while an append is
   * in flight goes out together in the next one (one pipelined round trip), so a busy moment
   * never turns into a queue of awaited round trips.
   */
  private publishEntries(sessionId: string, entries: StreamFields[]): Promise<void> {
    if (entries.length === 0) return this.flushed();
    for (const entry of entries) this.queue.push({ sessionId, entry });
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.draining ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 1000;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, maxBatch);
      const waiters = this.queue.length <= maxBatch ? this.waiters.splice(0) : [];
      for (let attempt = 0; ; attempt++) {
        try {
          await this.bus.append(STREAMS.domainEvents, batch.map((b) => b.entry));
          this.options.onPublished?.(batch.map((b) => b.entry.type!));
          break;
        } catch (error) {
          this.logger.error({ err: error, sessionIds: [...new Set(batch.map((b) => b.sessionId))], attempt }, 'publishing session events failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
      this.queue.splice(0, batch.length);
      for (const resolve of waiters) resolve();
    }
    this.draining = undefined;
  }

  /** Resolves when everything handed over so far is in the stream. */
  flushed(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
