import { pause } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { StreamBus, StreamEntry } from './stream-bus.js';

/** Hooks a consumer calls after each batch and each claim that dead-lettered entries. */
export interface StreamConsumerHooks {
  onDeadLetter?: (entries: StreamEntry[]) => void;
  onProcessed?: (count: number, failed: number) => void;
}

interface StreamConsumerBaseOptions extends StreamConsumerHooks {
  bus: StreamBus;
  stream: string;
  group: string;
  /** Keep it stable across restarts: a restarted consumer first re-reads the pending entries of its name. */
  consumer: string;
  logger: Logger;
  batchSize?: number;
  blockMs?: number;
  /** Entries left unacknowledged this long are taken over; also the claim period (every claimIdleMs / 2). */
  claimIdleMs: number;
  maxDeliveries: number;
  /** Where a new group starts: '0' (everything kept) or '$' (only what comes next). */
  startFrom?: '0' | '$';
  /** Counts processed, failed and dead-lettered entries (labelled by stream and group), besides the hooks. */
  metrics?: Metrics;
}

export type StreamConsumerOptions = StreamConsumerBaseOptions &
  (
    | {
        /** Handles one entry; a throw leaves it pending, so it is delivered again (a claim after claimIdleMs). */
        handle: (entry: StreamEntry) => Promise<void>;
        handleBatch?: never;
      }
    | {
        /**
         * Handles a batch in order and returns the ids of the entries that failed: those stay pending
         * and the others are acknowledged. A throw fails the whole batch.
         */
        handleBatch: (entries: StreamEntry[]) => Promise<Iterable<string>>;
        handle?: never;
      }
  );

/** Hooks that feed Metrics.streamProcessed and Metrics.streamDeadLettered for one stream and group. */
export function streamConsumerMetrics(metrics: Metrics, stream: string, group: string): Required<StreamConsumerHooks> {
  return {
    onProcessed(count, failed) {
      if (count > 0) metrics.streamProcessed.inc({ stream, group, outcome: 'ok' }, count);
      if (failed > 0) metrics.streamProcessed.inc({ stream, group, outcome: 'failed' }, failed);
    },
    onDeadLetter(entries) {
      if (entries.length > 0) metrics.streamDeadLettered.inc({ stream, group }, entries.length);
    },
  };
}

/** After a batch in which everything failed (a database outage, say), wait before reading more. */
const FAILURE_BACKOFF_MS = 1000;
const ERROR_BACKOFF_MS = 500;

/**
 * Runs a consumer of a group: first its own pending entries (left from a crash), then new ones,
 * and every claimIdleMs / 2 it takes over entries that other consumers left unacknowledged (moving
 * those delivered maxDeliveries times to the dead-letter stream).
 * Acknowledges only after the handler succeeded: delivery is at least once. Within a batch entries
 * are handled in order, but a failed entry comes back later, after newer ones: consumers that
 * care about order must guard against stale events.
 */
export class StreamConsumer {
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaimAt = 0;
  private abort = new AbortController();
  private readonly hooks: StreamConsumerHooks[];

  constructor(private readonly options: StreamConsumerOptions) {
    this.hooks = [options];
    if (options.metrics) this.hooks.push(streamConsumerMetrics(options.metrics, options.stream, options.group));
  }

  get name(): string {
    return this.options.consumer;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { bus, stream, group, startFrom } = this.options;
    await bus.ensureGroup(stream, group, startFrom ?? '0');
    this.abort = new AbortController();
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stops promptly: a blocking read in flight is aborted, and the rest of a batch in hand is left
   * pending (unacknowledged) for this consumer name's next start or for a claim.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 100;
  }

  private async run(): Promise<void> {
    const { bus, stream, group, consumer, logger } = this.options;
    const signal = this.abort.signal;
    // A crash may have left entries delivered to this consumer name but never acknowledged:
    // handle them first, once each (failures come back through claims).
    let cursor = '0';
    while (this.running) {
      const own = await this.safely(() =>
        bus.readGroup(stream, group, consumer, { count: this.batchSize, blockMs: 0, pending: true, afterId: cursor }),
      );
      if (!own || own.length === 0) break;
      await this.process(own);
      cursor = own.at(-1)!.id;
    }
    const blockMs = Math.min(this.options.blockMs ?? 1000, Math.max(50, this.options.claimIdleMs / 2));
    while (this.running) {
      await this.claimIfDue();
      if (!this.running) break;
      const entries = await this.safely(() => bus.readGroup(stream, group, consumer, { count: this.batchSize, blockMs, signal }));
      if (entries === undefined) {
        await this.pause(ERROR_BACKOFF_MS);
        continue;
      }
      if (entries.length === 0) continue;
      const failed = await this.process(entries);
      if (failed === entries.length) await this.pause(FAILURE_BACKOFF_MS);
    }
    logger.debug({ stream, group, consumer }, 'stream consumer stopped');
  }

  private async claimIfDue(): Promise<void> {
    const { bus, stream, group, consumer, claimIdleMs, maxDeliveries, logger } = this.options;
    if (Date.now() - this.lastClaimAt < claimIdleMs / 2) return;
    this.lastClaimAt = Date.now();
    while (this.running) {
      const result = await this.safely(() =>
        bus.claimStale(stream, group, consumer, { minIdleMs: claimIdleMs, count: this.batchSize, maxDeliveries }),
      );
      if (!result) return;
      if (result.deadLettered.length > 0) {
        logger.error({ stream, group, ids: result.deadLettered.map((e) => e.id) }, 'entries moved to the dead-letter stream');
        for (const hooks of this.hooks) hooks.onDeadLetter?.(result.deadLettered);
      }
      if (result.claimed.length > 0) {
        logger.warn({ stream, group, consumer, count: result.claimed.length }, 'claimed stale entries');
        await this.process(result.claimed);
      }
      // A full page may mean more stale entries wait; claimed ones are no longer idle, so this ends.
      if (result.claimed.length + result.deadLettered.length < this.batchSize) return;
    }
  }

  /** Handles entries in order, acknowledges the ones that succeeded, and returns how many failed. */
  private async process(entries: StreamEntry[]): Promise<number> {
    const { bus, stream, group, logger } = this.options;
    const done: string[] = [];
    let failed = 0;
    if (this.options.handleBatch) {
      let failedIds: Set<string>;
      try {
        failedIds = new Set(await this.options.handleBatch(entries));
      } catch (error) {
        logger.error({ err: error, stream, group, count: entries.length }, 'stream batch handler failed; it will be redelivered');
        failedIds = new Set(entries.map((e) => e.id));
      }
      for (const entry of entries) if (!failedIds.has(entry.id)) done.push(entry.id);
      failed = entries.length - done.length;
    } else {
      for (const entry of entries) {
        // Stopping mid-batch: the rest stays pending for the next owner.
        if (!this.running) break;
        try {
          await this.options.handle!(entry);
          done.push(entry.id);
        } catch (error) {
          failed += 1;
          logger.error({ err: error, stream, group, entryId: entry.id }, 'stream entry handler failed; it will be redelivered');
        }
      }
    }
    await this.safely(() => bus.ack(stream, group, done));
    for (const hooks of this.hooks) hooks.onProcessed?.(done.length, failed);
    return failed;
  }

  private async safely<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const { bus, stream, group, startFrom, logger } = this.options;
    try {
      return await fn();
    } catch (error) {
      if (!this.running) return undefined;
      logger.error({ err: error, stream, group }, 'stream operation failed');
      // The group is gone (the stream was deleted, or Redis lost its data): create it again.
      if (String((error as Error).message).includes('NOGROUP')) {
        await bus.ensureGroup(stream, group, startFrom ?? '0').catch(() => undefined);
      }
      return undefined;
    }
  }

  /** Sleeps, but wakes at once when stopped. */
  private pause(ms: number): Promise<void> {
    return pause(ms, this.abort.signal);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
