import type { Db, Queryable } from '../../platform/db/db.js';

/**
 * The consumer inbox: an event id recorded in processed_events in the same transaction as the
 * event's effect, so a redelivered event changes nothing the second time. Event ids are uuids.
 */

/**
 * Records event ids as processed by `consumer` inside the caller's transaction, in one statement,
 * and returns the ids that were new (lower-case). A concurrent transaction recording the same id
 * makes this one wait for it: exactly one of them sees the id as new.
 */
export async function recordProcessed(tx: Queryable, consumer: string, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const ids = [...new Set(eventIds.map((id) => id.toLowerCase()))];
  const rows = await tx.query<{ event_id: string }>(
    `insert into processed_events (consumer, event_id)
     select $1, id from unnest($2::uuid[]) as t(id)
     on conflict do nothing
     returning event_id`,
    [consumer, ids],
  );
  return new Set(rows.map((r) => String(r.event_id).toLowerCase()));
}

/**
 * Runs `effect` in one transaction with the record of the event, unless `consumer` already
 * processed it. Returns false when it had (the effect did not run). A throw rolls back both.
 */
export async function processOnce(
  db: Db,
  consumer: string,
  eventId: string,
  effect: (tx: Queryable) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const fresh = await recordProcessed(tx, consumer, [eventId]);
    if (fresh.size === 0) return false;
    await effect(tx);
    return true;
  });
}

/**
 * The batched form: records every id in one statement and calls `effect` once, in the same
 * transaction, with the ids that were new (lower-case). Returns them. A throw rolls back all.
 */
export async function processBatchOnce(
  db: Db,
  consumer: string,
  eventIds: readonly string[],
  effect: (tx: Queryable, fresh: ReadonlySet<string>) => Promise<void>,
): Promise<Set<string>> {
  return db.transaction(async (tx) => {
    const fresh = await recordProcessed(tx, consumer, eventIds);
    if (fresh.size > 0) await effect(tx, fresh);
    return fresh;
  });
}
