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

export const EXPERIMENTS = ['pg-nodelay', 'publisher-coalesce', 'json-rows', 'skip-history-contacts'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** Before startWahub: what must be in place before connections open. */
export function beforeStart(experiments: readonly string[]): void {
  if (experiments.includes('pg-nodelay')) forceNoDelayOnClientSockets();
}

/** After startWahub: patches of live objects. */
export function afterStart(wahub: Wahub, experiments: readonly string[]): void {
  if (experiments.includes('publisher-coalesce')) coalescePublisher(wahub);
  if (experiments.includes('skip-history-contacts')) skipHistoryContacts(wahub);
}

/**
 * json-rows: the projection's set-based statements take their rows as `json` instead of `jsonb`
 * (jsonb_to_recordset($n::jsonb -> 'rows') → json_to_recordset($n::json -> 'rows')): the
 * parameter, often hundreds of kilobytes, is then not converted to jsonb before being read once.
 * Returns the rewrite to apply to every statement's text, or null.
 */
export function statementRewrite(experiments: readonly string[]): ((text: string) => string) | null {
  if (!experiments.includes('json-rows')) return null;
  return (text) => text.replace(/jsonb_to_recordset\((\$\d+)::jsonb -> 'rows'\)/g, "json_to_recordset($1::json -> 'rows')");
}

/**
 * skip-history-contacts: the projection ignores `session.contacts.upsert` events whose source is
 * `history`: the `session.history.sync` event of the same batch carries those contacts (in `full`)
 * and its handler stores them already.
 */
function skipHistoryContacts(wahub: Wahub): void {
  type Handler = (event: { payload?: { source?: unknown } }, ...rest: unknown[]) => Promise<void>;
  const consumer = (wahub.modules.consumers as unknown as { handlers?: Map<string, Handler> }[]).find((c) => c.handlers?.has('session.contacts.upsert'));
  const handler = consumer?.handlers?.get('session.contacts.upsert');
  if (!consumer?.handlers || !handler) throw new Error('experiment skip-history-contacts: no consumer handles session.contacts.upsert');
  consumer.handlers.set('session.contacts.upsert', async (event, ...rest) => {
    if (event.payload?.source === 'history') return;
    await handler(event, ...rest);
  });
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
  if (!(publisher.chain instanceof Promise)) throw new Error('experiment publisher-coalesce: the publisher no longer chains its appends (the change has landed): run without it');
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
