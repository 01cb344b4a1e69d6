import type { Logger } from '../../platform/logger.js';
import type { StreamBus, StreamEntry } from './stream-bus.js';

export interface StreamConsumerOptions {
  bus: StreamBus;
  stream: string;
  group: string;
  consumer: string;
  /** Handles one entry; a throw leaves it pending, so it is delivered again after claimIdleMs. */
  handle: (entry: StreamEntry) => Promise<void>;
  logger: Logger;
  batchSize?: number;
  blockMs?: number;
  claimIdleMs: number;
  maxDeliveries: number;
  /** Where a new group starts: '0' (everything kept) or '$' (only what comes next). */
  startFrom?: '0' | '$';
  onDeadLetter?: (entries: StreamEntry[]) => void;
  onProcessed?: (count: number, failed: number) => void;
}

/**
 * Runs a consumer of a group: first its own pending entries (left from a crash), then new ones,
 * and every claimIdleMs / 2 it takes over entries that other consumers left unacknowledged.
 * Acknowledges only after the handler succeeded: delivery is at least once.
 */
export class StreamConsumer {
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaimAt = 0;

  constructor(private readonly options: StreamConsumerOptions) {}

  get name(): string {
    return this.options.consumer;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { bus, stream, group, startFrom } = this.options;
    await bus.ensureGroup(stream, group, startFrom ?? '0');
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in hand; entries not yet acknowledged stay pending for the next owner. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { bus, stream, group, consumer, logger } = this.options;
    const batchSize = this.options.batchSize ?? 100;
    // A crash may have left entries delivered to this consumer name but never acknowledged.
    for (;;) {
      if (!this.running) return;
      const own = await this.safely(() => bus.readGroup(stream, group, consumer, { count: batchSize, blockMs: 0, pending: true }));
      if (!own || own.length === 0) break;
      const failed = await this.process(own);
      if (failed === own.length) break; // they will come back through claims
    }
    while (this.running) {
      await this.claimIfDue();
      if (!this.running) break;
      const blockMs = Math.min(this.options.blockMs ?? 1000, Math.max(50, this.options.claimIdleMs / 2));
      const entries = await this.safely(() => bus.readGroup(stream, group, consumer, { count: batchSize, blockMs }));
      if (entries === undefined) {
        await sleep(500);
        continue;
      }
      if (entries.length > 0) await this.process(entries);
    }
    logger.debug({ stream, group, consumer }, 'stream consumer stopped');
  }

  private async claimIfDue(): Promise<void> {
    const { bus, stream, group, consumer, claimIdleMs, maxDeliveries, logger } = this.options;
    const now = Date.now();
    if (now - this.lastClaimAt < claimIdleMs / 2) return;
    this.lastClaimAt = now;
    const result = await this.safely(() =>
      bus.claimStale(stream, group, consumer, { minIdleMs: claimIdleMs, count: this.options.batchSize ?? 100, maxDeliveries }),
    );
    if (!result) return;
    if (result.deadLettered.length > 0) {
      logger.error({ stream, group, ids: result.deadLettered.map((e) => e.id) }, 'entries moved to the dead-letter stream');
      this.options.onDeadLetter?.(result.deadLettered);
    }
    if (result.claimed.length > 0) {
      logger.warn({ stream, group, consumer, count: result.claimed.length }, 'claimed stale entries');
      await this.process(result.claimed);
    }
  }

  private async process(entries: StreamEntry[]): Promise<number> {
    const { bus, stream, group, logger } = this.options;
    const done: string[] = [];
    let failed = 0;
    for (const entry of entries) {
      try {
        await this.options.handle(entry);
        done.push(entry.id);
      } catch (error) {
        failed += 1;
        logger.error({ err: error, stream, group, entryId: entry.id }, 'stream entry handler failed; it will be redelivered');
      }
    }
    await this.safely(() => bus.ack(stream, group, done));
    this.options.onProcessed?.(done.length, failed);
    return failed;
  }

  private async safely<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (this.running) this.options.logger.error({ err: error, stream: this.options.stream }, 'stream operation failed');
      return undefined;
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
