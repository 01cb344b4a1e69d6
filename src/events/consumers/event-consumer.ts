import { hostname } from 'node:os';
import type { Db, Queryable } from '../../platform/db/db.js';
import { isUuid } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { StreamBus, StreamEntry, StreamFields } from '../bus/stream-bus.js';
import { StreamConsumer } from '../bus/stream-consumer.js';
import { fromStreamFields, STREAMS, type EventEnvelope } from '../envelope.js';
import { processBatchOnce, processOnce } from './inbox.js';

/** What a handler may need of the stream entry beyond the event: its id and every field. */
export interface EventContext {
  entryId: string;
  /** All the entry's fields: `data` (the event) and any companion, such as `full` beside capped lists. */
  fields: StreamFields;
}

/** Applies one event inside the transaction that also records it as processed. */
export type EventHandler<E extends EventEnvelope<{ tenantId: string }> = EventEnvelope> = (event: E, tx: Queryable, context: EventContext) => Promise<void>;

/**
 * Parses a JSON companion field of the entry (e.g. `full`); undefined when absent. A field that is
 * not JSON throws, so the event stays pending and is dead-lettered rather than half applied.
 */
export function entryJson<T>(context: EventContext, field: string): T | undefined {
  const text = context.fields[field];
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

export interface EventConsumerOptions {
  db: Db;
  bus: StreamBus;
  logger: Logger;
  /** The consumer group, and the consumer name in the inbox (processed_events): one per projection. */
  group: string;
  /**
   * This process's name within the group. Keep it stable across restarts (a pod name, WORKER_ID):
   * a restarted consumer re-reads its own pending entries first. Default `<hostname>-<pid>`.
   */
  consumer?: string;
  /** Default `domain-events`. */
  stream?: string;
  handlers?: Record<string, EventHandler>;
  claimIdleMs: number;
  maxDeliveries: number;
  batchSize?: number;
  blockMs?: number;
  startFrom?: '0' | '$';
  metrics?: Metrics;
}

interface Work {
  entry: StreamEntry;
  event: EventEnvelope;
  handler: EventHandler;
}

/**
 * Reads a stream of event envelopes as one consumer group and hands each event to the handler of
 * its type, exactly once in effect: the handler runs in a transaction that records the event id in
 * the inbox, and the entry is acknowledged only after that commits. Events of other types are
 * acknowledged and ignored. A batch runs in one transaction; when it fails, its events are retried
 * one transaction each, so a poison event stays pending alone (and is dead-lettered after
 * maxDeliveries) while the others commit.
 */
export class EventConsumer {
  private readonly handlers = new Map<string, EventHandler>();
  private readonly runner: StreamConsumer;
  private readonly logger: Logger;

  constructor(private readonly options: EventConsumerOptions) {
    this.logger = options.logger.child({ component: 'event-consumer', group: options.group });
    for (const [type, handler] of Object.entries(options.handlers ?? {})) this.on(type, handler);
    this.runner = new StreamConsumer({
      bus: options.bus,
      stream: this.stream,
      group: options.group,
      consumer: options.consumer ?? `${hostname()}-${process.pid}`,
      logger: this.logger,
      claimIdleMs: options.claimIdleMs,
      maxDeliveries: options.maxDeliveries,
      batchSize: options.batchSize,
      blockMs: options.blockMs,
      startFrom: options.startFrom,
      metrics: options.metrics,
      handleBatch: (entries) => this.handleBatch(entries),
    });
  }

  get stream(): string {
    return this.options.stream ?? STREAMS.domainEvents;
  }

  /** The group whose lag and dead letters /metrics reports (Modules.consumerGroups). */
  get consumerGroup(): { stream: string; group: string } {
    return { stream: this.stream, group: this.options.group };
  }

  /** Registers the handler of an event type; one per type. */
  on<E extends EventEnvelope<{ tenantId: string }> = EventEnvelope>(type: string, handler: EventHandler<E>): this {
    if (this.handlers.has(type)) throw new Error(`event consumer ${this.options.group} already handles ${type}`);
    this.handlers.set(type, handler as unknown as EventHandler);
    return this;
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Handles a batch in order; returns the ids of the entries that failed (they stay pending). */
  async handleBatch(entries: StreamEntry[]): Promise<string[]> {
    const failed: string[] = [];
    const work: Work[] = [];
    for (const entry of entries) {
      let event: EventEnvelope;
      try {
        event = fromStreamFields(entry.fields);
      } catch (error) {
        // It can never succeed; it stays pending until it is dead-lettered, where it can be inspected.
        this.logger.error({ err: error, entryId: entry.id }, 'undecodable stream entry');
        failed.push(entry.id);
        continue;
      }
      const handler = this.handlers.get(event.type);
      if (!handler) continue;
      if (typeof event.eventId !== 'string' || !isUuid(event.eventId)) {
        this.logger.error({ entryId: entry.id, type: event.type, eventId: event.eventId }, 'event without a uuid eventId');
        failed.push(entry.id);
        continue;
      }
      work.push({ entry, event, handler });
    }
    if (work.length > 1) {
      try {
        await this.applyTogether(work);
        return failed;
      } catch (error) {
        this.logger.warn({ err: error, count: work.length }, 'event batch failed; applying its events one by one');
      }
    }
    for (const item of work) {
      try {
        await processOnce(this.options.db, this.options.group, item.event.eventId, (tx) => item.handler(item.event, tx, contextOf(item.entry)));
      } catch (error) {
        this.logger.error(
          { err: error, entryId: item.entry.id, type: item.event.type, eventId: item.event.eventId },
          'event handler failed; it will be redelivered',
        );
        failed.push(item.entry.id);
      }
    }
    return failed;
  }

  private async applyTogether(work: Work[]): Promise<void> {
    const ids = work.map((w) => w.event.eventId);
    await processBatchOnce(this.options.db, this.options.group, ids, async (tx, fresh) => {
      // The relay may publish an event twice: only its first copy in the batch runs.
      const todo = new Set(fresh);
      for (const item of work) {
        if (todo.delete(item.event.eventId.toLowerCase())) await item.handler(item.event, tx, contextOf(item.entry));
      }
    });
  }
}

const contextOf = (entry: StreamEntry): EventContext => ({ entryId: entry.id, fields: entry.fields });
