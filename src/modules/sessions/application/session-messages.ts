import { envelope, STREAMS } from '../../../events/envelope.js';
import type { OutboxMessage } from '../../../events/outbox/outbox.js';
import { shardOf } from '../domain/session.js';

/** A `session.*` event for `domain-events`, ordered with every other message of its session. */
export function sessionEvent(type: string, sessionId: string, payload: { tenantId: string } & Record<string, unknown>, at = new Date()): OutboxMessage {
  return { stream: STREAMS.domainEvents, partitionKey: sessionId, event: envelope(type, sessionId, payload, at) };
}

/** A command for the worker owning the session's shard; its eventId is the command id. */
export function sessionCommand(type: string, sessionId: string, shards: number, payload: { tenantId: string } & Record<string, unknown>): OutboxMessage {
  return { stream: STREAMS.sessionCommands(shardOf(sessionId, shards)), partitionKey: sessionId, event: envelope(type, sessionId, payload) };
}
