/**
 * Proposed changes, applied at runtime to the wahub process under test when asked
 * (--experiment <name>), to measure what they would bring before anyone edits the app. Not the
 * app as shipped: results of such runs go to results.local.md, labelled.
 */
import type { Wahub } from '../../src/app/wahub.js';
import type { StreamBus, StreamFields } from '../../src/events/bus/stream-bus.js';
import { STREAMS } from '../../src/events/envelope.js';
import type { Logger } from '../../src/platform/logger.js';
import { forceNoDelayOnClientSockets } from './nodelay.js';

export const EXPERIMENTS = ['pg-nodelay', 'publisher-coalesce'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** Before startWahub: what must be in place before connections open. */
export function beforeStart(experiments: readonly string[]): void {
  if (experiments.includes('pg-nodelay')) forceNoDelayOnClientSockets();
}

/** After startWahub: patches of live objects. */
export function afterStart(wahub: Wahub, experiments: readonly string[]): void {
  if (experiments.includes('publisher-coalesce')) coalescePublisher(wahub);
}

/** What SessionEventPublisher keeps (private in TypeScript, reachable at runtime). */
interface PublisherInternals {
  bus: StreamBus;
  logger: Logger;
  options: { onPublished?: (types: string[]) => void };
  backlog: number;
  chain: Promise<void>;
  publishEntries(sessionId: string, entries: StreamFields[]): Promise<void>;
  flushed(): Promise<void>;
}

/**
 * The proposed SessionEventPublisher.publishEntries: entries wait in one queue, and a single
 * drain loop appends everything queued so far in one pipelined append per round trip (at most
 * 1,000), instead of one awaited append per driver report. Order, retry with backoff, and
 * "the returned promise resolves once these entries are in the stream" are kept; throughput no
 * longer falls to one report per Redis round trip when the event loop is busy.
 */
function coalescePublisher(wahub: Wahub): void {
  const holder = (wahub.modules.workers as unknown as { worker?: { options?: { publisher?: PublisherInternals } } }[]).find((w) => w.worker);
  const publisher = holder?.worker?.options?.publisher;
  if (!publisher?.publishEntries) throw new Error('experiment publisher-coalesce: the session worker has no publisher of the expected shape');
  const queue: { sessionId: string; entry: StreamFields }[] = [];
  let draining = false;
  const drain = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, 1000);
        const entries = batch.map((q) => q.entry);
        for (let attempt = 0; ; attempt++) {
          try {
            await publisher.bus.append(STREAMS.domainEvents, entries);
            publisher.options.onPublished?.(entries.map((e) => e.type!));
            break;
          } catch (error) {
            publisher.logger.error({ err: error, sessionId: batch[0]!.sessionId, attempt }, 'publishing session events failed; retrying');
            await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
          }
        }
        publisher.backlog -= entries.length;
      }
    } finally {
      // Set in the same turn as the loop found the queue empty: a publish after this starts a new drain.
      draining = false;
    }
  };
  publisher.publishEntries = (sessionId: string, entries: StreamFields[]): Promise<void> => {
    if (entries.length === 0) return publisher.chain;
    publisher.backlog += entries.length;
    for (const entry of entries) queue.push({ sessionId, entry });
    if (!draining) {
      draining = true;
      publisher.chain = drain();
    }
    return publisher.chain;
  };
}
