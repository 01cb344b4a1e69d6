import type { Db } from '../../platform/db/db.js';
import type { Logger } from '../../platform/logger.js';
import type { StreamBus, StreamFields } from '../bus/stream-bus.js';
import { toStreamFields, type EventEnvelope } from '../envelope.js';

export interface OutboxRelayOptions {
  db: Db;
  bus: StreamBus;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /** Published rows are deleted after this many hours (fractions allowed). */
  retentionHours: number;
  /**
   * Consumer inbox rows (processed_events) are deleted after this many hours; default 7 days.
   * Keep it longer than an event can take to be redelivered.
   */
  processedEventsRetentionHours?: number;
  onPublished?: (count: number) => void;
}

export interface PublishResult {
  /** Rows this relay locked. */
  claimed: number;
  /** Rows it published: the claimed rows that head their partition. */
  published: number;
}

interface ClaimedRow {
  id: number;
  stream: string;
  publishable: boolean;
  /** Only for publishable rows. */
  message: EventEnvelope | null;
}

const PRUNE_EVERY_MS = 60_000;
const PRUNE_CHUNK = 5_000;
/** At most this many chunks per prune call, so one call cannot hold the (PGlite) connection for long. */
const PRUNE_MAX_CHUNKS = 20;
const DEFAULT_PROCESSED_EVENTS_RETENTION_HOURS = 7 * 24;
const ERROR_BACKOFF_MS = 1000;

/**
 * Claims pending rows with row locks, skipping rows other relays hold, and marks which may go out:
 * a partition goes out as a prefix of its pending rows, so its order holds with any number of
 * relays. The first pending row of a partition outside this claim (another relay holds it, or the
 * limit cut it off) blocks every later row of that partition until it is published. Both CTEs are
 * materialized so the probe (outbox_pending_partition, walking only that partition's claimed rows)
 * runs once per partition, and its cost stays bounded by the claim, not by the backlog.
 */
const CLAIM_SQL = `
with claimed as materialized (
  select id, partition_key, stream, message from outbox
  where status = 'pending'
  order by id
  limit $1
  for update skip locked
),
blockers as materialized (
  select p.partition_key, (
    select o.id from outbox o
    where o.status = 'pending' and o.partition_key = p.partition_key and o.id < p.last_id
      and o.id <> all (p.ids)
    order by o.id
    limit 1
  ) as first_blocker
  from (select partition_key, max(id) as last_id, array_agg(id) as ids from claimed group by partition_key) p
)
select c.id, c.stream,
  (b.first_blocker is null or c.id < b.first_blocker) as publishable,
  case when b.first_blocker is null or c.id < b.first_blocker then c.message end as message
from claimed c left join blockers b on b.partition_key = c.partition_key
order by c.id`;

/**
 * Publishes outbox rows to their streams, at least once and in order per partition, with any
 * number of relays running. Rows are claimed with row locks (FOR UPDATE SKIP LOCKED) on the
 * pending status, never with a high-water mark: a transaction that commits late is still seen.
 * The lock is held until the rows are marked published, so a relay that dies after publishing and
 * before marking leaves them pending, and they are published again (consumers dedupe by eventId).
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A notify() that came while a batch was in flight: run another one before sleeping. */
  private notified = false;
  private lastPruneAt = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Called after a commit in this process that wrote to the outbox: publish now, not at the next poll. */
  notify(): void {
    this.notified = true;
    this.wakeUp?.();
  }

  /** Claims, publishes and marks one batch, in one transaction. */
  async publishBatch(): Promise<PublishResult> {
    const { db, bus } = this.options;
    const limit = this.options.batchSize ?? 500;
    const result = await db.transaction(async (tx) => {
      const claimed = await tx.query<ClaimedRow>(CLAIM_SQL, [limit]);
      const batch = claimed.filter((row) => row.publishable);
      if (batch.length === 0) return { claimed: claimed.length, published: 0 };

      const byStream = new Map<string, StreamFields[]>();
      for (const row of batch) {
        const list = byStream.get(row.stream) ?? [];
        list.push(toStreamFields(row.message!));
        byStream.set(row.stream, list);
      }
      for (const [stream, entries] of byStream) await bus.append(stream, entries);
      // Marked in the claim's transaction: if this fails or the process dies first, the rows stay
      // pending and go out again (at least once).
      await tx.query(`update outbox set status = 'published', published_at = now() where id = any($1::bigint[])`, [
        batch.map((r) => r.id),
      ]);
      return { claimed: claimed.length, published: batch.length };
    });
    if (result.published > 0) this.options.onPublished?.(result.published);
    return result;
  }

  /** Deletes published rows past retention, and consumer inbox rows past theirs, a bounded chunk at a time. */
  async prune(): Promise<{ outbox: number; processedEvents: number }> {
    const { db, retentionHours } = this.options;
    const inboxHours = this.options.processedEventsRetentionHours ?? DEFAULT_PROCESSED_EVENTS_RETENTION_HOURS;
    const outbox = await this.pruneChunks(
      `delete from outbox where id in (
         select id from outbox
         where status = 'published' and published_at < now() - $1::float8 * interval '1 hour'
         limit ${PRUNE_CHUNK})
       returning 1 as n`,
      retentionHours,
    );
    const processedEvents = await this.pruneChunks(
      `delete from processed_events where (consumer, event_id) in (
         select consumer, event_id from processed_events
         where processed_at < now() - $1::float8 * interval '1 hour'
         limit ${PRUNE_CHUNK})
       returning 1 as n`,
      inboxHours,
    );
    return { outbox, processedEvents };
  }

  private async pruneChunks(sql: string, hours: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < PRUNE_MAX_CHUNKS; i++) {
      const deleted = (await this.options.db.query(sql, [hours])).length;
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
    }
    return total;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    const limit = this.options.batchSize ?? 500;
    const pollMs = this.options.pollMs ?? 200;
    while (this.running) {
      this.notified = false;
      let result: PublishResult;
      try {
        result = await this.publishBatch();
        if (Date.now() - this.lastPruneAt > PRUNE_EVERY_MS) {
          this.lastPruneAt = Date.now();
          await this.prune();
        }
      } catch (error) {
        logger.error({ err: error }, 'outbox relay batch failed; retrying');
        await this.sleep(ERROR_BACKOFF_MS);
        continue;
      }
      // A full claim that made progress: more rows are likely waiting. A claim whose rows were all
      // blocked by another relay waits for the poll, instead of spinning on the same rows.
      if (result.claimed >= limit && result.published > 0) continue;
      if (this.notified) continue;
      await this.sleep(pollMs);
    }
  }

  /** Waits ms, or less when notify() or stop() is called. */
  private async sleep(ms: number): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
