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
  retentionHours: number;
  onPublished?: (count: number) => void;
}

interface ClaimedRow {
  id: number;
  partition_key: string;
  stream: string;
  message: EventEnvelope;
}

const PRUNE_EVERY_MS = 60_000;
const PROCESSED_EVENTS_RETENTION = '7 days';

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
  }

  /** Called after a commit in this process that wrote to the outbox: publish now, not at the next poll. */
  notify(): void {
    this.wakeUp?.();
  }

  /** Claims, publishes and marks one batch; returns how many rows it claimed. */
  async publishBatch(): Promise<number> {
    const { db, bus } = this.options;
    const limit = this.options.batchSize ?? 500;
    return db.transaction(async (tx) => {
      const claimed = await tx.query<ClaimedRow>(
        `select id, partition_key, stream, message from outbox
         where status = 'pending' order by id limit $1 for update skip locked`,
        [limit],
      );
      if (claimed.length === 0) return 0;

      // A partition may only go out as a prefix of its unpublished rows: an earlier row that another
      // relay holds (or that this claim's limit cut off) blocks the rest of that partition.
      const held = new Set(claimed.map((r) => r.id));
      const unpublished = await tx.query<{ id: number; partition_key: string }>(
        `select id, partition_key from outbox
         where status = 'pending' and partition_key = any($1::text[]) and id <= $2
         order by id`,
        [[...new Set(claimed.map((r) => r.partition_key))], claimed.at(-1)!.id],
      );
      const blocked = new Set<string>();
      const eligible = new Set<number>();
      for (const row of unpublished) {
        if (blocked.has(row.partition_key)) continue;
        if (held.has(row.id)) eligible.add(row.id);
        else blocked.add(row.partition_key);
      }
      const batch = claimed.filter((r) => eligible.has(r.id));
      if (batch.length === 0) return claimed.length;

      const byStream = new Map<string, StreamFields[]>();
      for (const row of batch) {
        const list = byStream.get(row.stream) ?? [];
        list.push(toStreamFields(row.message));
        byStream.set(row.stream, list);
      }
      for (const [stream, entries] of byStream) await bus.append(stream, entries);
      await tx.query(
        `update outbox set status = 'published', published_at = now() where id = any($1::bigint[])`,
        [batch.map((r) => r.id)],
      );
      this.options.onPublished?.(batch.length);
      return claimed.length;
    });
  }

  /** Deletes published rows past retention, and consumer inbox rows past theirs, a bounded chunk at a time. */
  async prune(): Promise<number> {
    const { db, retentionHours } = this.options;
    const outbox = await db.query<{ id: number }>(
      `delete from outbox where id in (
         select id from outbox where status = 'published' and published_at < now() - make_interval(hours => $1)
         limit 10000)
       returning id`,
      [retentionHours],
    );
    await db.query(
      `delete from processed_events where ctid in (
         select ctid from processed_events where processed_at < now() - interval '${PROCESSED_EVENTS_RETENTION}' limit 10000)`,
    );
    return outbox.length;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    const limit = this.options.batchSize ?? 500;
    const pollMs = this.options.pollMs ?? 200;
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.publishBatch();
        if (Date.now() - this.lastPruneAt > PRUNE_EVERY_MS) {
          this.lastPruneAt = Date.now();
          await this.prune();
        }
      } catch (error) {
        logger.error({ err: error }, 'outbox relay batch failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (claimed >= limit || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}
