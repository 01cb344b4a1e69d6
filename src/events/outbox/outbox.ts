import type { Queryable } from '../../platform/db/db.js';
import type { EventEnvelope } from '../envelope.js';

export interface OutboxMessage {
  stream: string;
  /** Messages of one partition are published in the order they were written. */
  partitionKey: string;
  /** Any envelope: payload types are usually interfaces, without an index signature. */
  event: EventEnvelope<{ tenantId: string }>;
}

/**
 * Writes messages to the outbox inside the caller's transaction, in one statement.
 * They reach their stream once the transaction commits and the relay picks them up.
 */
export async function enqueueOutbox(tx: Queryable, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const rows = messages.map((m) => ({
    tenant_id: m.event.payload.tenantId,
    partition_key: m.partitionKey,
    stream: m.stream,
    event_id: m.event.eventId,
    type: m.event.type,
    message: m.event,
  }));
  // WITH ORDINALITY keeps the ids (and so the publication order) in the order given.
  await tx.query(
    `insert into outbox (tenant_id, partition_key, stream, event_id, type, message)
     select tenant_id, partition_key, stream, event_id, type, message
     from rows from (jsonb_to_recordset($1::jsonb)
       as (tenant_id uuid, partition_key text, stream text, event_id uuid, type text, message jsonb))
       with ordinality as r(tenant_id, partition_key, stream, event_id, type, message, position)
     order by position`,
    [rows],
  );
}
