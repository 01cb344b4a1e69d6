import { EventConsumer } from '../events/consumers/event-consumer.js';
import {
  createChatsModule,
  findMessageRef,
  findMessageRefInAnyChat,
  findMessageRefs,
  messagingProjectionHandlers,
  PROJECTIONS_GROUP,
  resolveChatJid,
  type MessageRef,
} from '../modules/chats/index.js';
import type { MessageLookup, StoredMessage } from '../modules/sessions/application/messaging.ports.js';
import { createContactsModule } from '../modules/contacts/index.js';
import { withMediaProjection } from '../modules/chats/adapters/media-projection.js';
import type { Modules } from './modules.js';
import type { Resources } from './resources.js';
import type { AuthPorts } from './sessions-module.js';

/**
 * Messaging: the projection of `session.*` events into chats, messages, reactions, contacts and
 * LID mappings (consumer group `projections`, started by the consumer role), and the read API
 * (GET /chats, GET /chats/:jid/messages, GET /contacts).
 */
export function buildMessagingModule(resources: Resources, auth: Pick<AuthPorts, 'requireAuth'>): Pick<Modules, 'routers' | 'consumers' | 'consumerGroups'> {
  const { config, db, bus, logger, metrics } = resources;
  const chats = createChatsModule({ db, requireAuth: auth.requireAuth });
  const contacts = createContactsModule({ db, requireAuth: auth.requireAuth });
  const projections = new EventConsumer({
    db,
    bus,
    logger: logger.child({ role: 'consumer' }),
    group: PROJECTIONS_GROUP,
    consumer: config.workerId ? `${config.workerId}-${process.pid}` : undefined,
    // session.messages.media beside the others; stored media survives messages arriving again.
    handlers: withMediaProjection(messagingProjectionHandlers()),
    claimIdleMs: config.streamClaimIdleMs,
    maxDeliveries: config.streamMaxDeliveries,
    batchSize: 100,
    metrics,
  });
  return {
    routers: [chats.router, contacts.router],
    consumers: [projections],
    consumerGroups: [projections.consumerGroup],
  };
}

const stored = ({ deletedAt, ...ref }: MessageRef): StoredMessage => ({ ...ref, deleted: deletedAt !== null });

/** The message store as the sending side needs it (the chats module's repository). */
export function messageLookup(resources: Resources): MessageLookup {
  const { db } = resources;
  return {
    resolveChatJid: (tenantId, sessionId, jid) => resolveChatJid(db, tenantId, sessionId, jid),
    async findMessage(tenantId, sessionId, chatJid, messageId) {
      const ref = chatJid
        ? await findMessageRef(db, tenantId, sessionId, chatJid, messageId)
        : await findMessageRefInAnyChat(db, tenantId, sessionId, messageId);
      return ref && stored(ref);
    },
    async findMessages(tenantId, sessionId, chatJid, messageIds) {
      return (await findMessageRefs(db, tenantId, sessionId, chatJid, messageIds)).map(stored);
    },
  };
}
