import { newUuidV7 } from '../platform/ids.js';
import type { StreamFields } from './bus/stream-bus.js';

/** The seed's envelope, shared by every event on `domain-events` and every WebSocket message. */
export interface EventEnvelope<P extends { tenantId: string } = { tenantId: string } & Record<string, unknown>> {
  type: string;
  sessionId: string | null;
  eventId: string;
  occurredOn: string;
  payload: P;
}

export function envelope<P extends { tenantId: string }>(
  type: string,
  sessionId: string | null,
  payload: P,
  occurredOn: Date = new Date(),
): EventEnvelope<P> {
  return { type, sessionId, eventId: newUuidV7(occurredOn.getTime()), occurredOn: occurredOn.toISOString(), payload };
}

/** Stream entry fields: the tenant and type stay readable without parsing the JSON body. */
export function toStreamFields(event: EventEnvelope): StreamFields {
  return { type: event.type, tenantId: event.payload.tenantId, eventId: event.eventId, data: JSON.stringify(event) };
}

export function fromStreamFields(fields: StreamFields): EventEnvelope {
  if (!fields.data) throw new Error('stream entry has no data field');
  return JSON.parse(fields.data) as EventEnvelope;
}

/** Streams that carry wahub's traffic. */
export const STREAMS = {
  domainEvents: 'domain-events',
  mail: 'mail',
  authEvents: 'auth-events',
  sessionCommands: (shard: number) => `session-commands:${shard}`,
} as const;
