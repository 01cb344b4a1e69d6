import { EventConsumer } from '../events/consumers/event-consumer.js';
import { createChatsModule, messagingProjectionHandlers, PROJECTIONS_GROUP } from '../modules/chats/index.js';
import { createContactsModule } from '../modules/contacts/index.js';
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
    handlers: messagingProjectionHandlers(),
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
