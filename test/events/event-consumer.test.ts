import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLetterStream, type StreamBus } from '../../src/events/bus/stream-bus.js';
import { EventConsumer, type EventConsumerOptions } from '../../src/events/consumers/event-consumer.js';
import { processBatchOnce, processOnce, recordProcessed } from '../../src/events/consumers/inbox.js';
import { envelope, toStreamFields, type EventEnvelope } from '../../src/events/envelope.js';
import type { Db } from '../../src/platform/db/db.js';
import { newId } from '../../src/platform/ids.js';
import { Metrics } from '../../src/platform/metrics.js';
import { BusFactory, createMigratedDb, deferred, silentLogger, waitUntil, type BusKind, type DbKind } from './helpers.js';

const SETUPS: { db: DbKind; bus: BusKind }[] = [
  { db: 'postgres', bus: 'redis' },
  { db: 'pglite', bus: 'memory' },
];

const TENANT = newId();
type Counted = EventEnvelope<{ tenantId: string; n: number; poison?: boolean }>;
const counted = (n: number, poison = false): Counted => envelope('test.counted', null, { tenantId: TENANT, n, poison });

let counter = 0;
const freshStream = () => `events-${++counter}`;

describe.each(SETUPS)('consumer inbox and EventConsumer ($db + $bus)', ({ db: dbKind, bus: busKind }) => {
  const factory = new BusFactory(busKind);
  let db: Db;
  let drop: () => Promise<void>;
  let bus: StreamBus;
  const running: EventConsumer[] = [];

  beforeAll(async () => {
    ({ db, drop } = await createMigratedDb(dbKind));
    await db.exec('create table projection_test (event_id uuid primary key, n int not null)');
    bus = factory.create();
  });
  beforeEach(async () => {
    await db.query('delete from projection_test');
    await db.query('delete from processed_events');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    await factory.cleanup();
    await drop?.();
  });

  /** A projection that fails loudly on a duplicate: only the inbox keeps it idempotent. */
  const project = async (event: Counted, tx: { query: Db['query'] }) => {
    await tx.query('insert into projection_test (event_id, n) values ($1, $2)', [event.eventId, event.payload.n]);
    if (event.payload.poison) throw new Error('poison event');
  };
  const projected = async () => (await db.query<{ n: number }>('select n from projection_test order by n')).map((r) => r.n);

  function consumer(stream: string, options: Partial<EventConsumerOptions> = {}): EventConsumer {
    const c = new EventConsumer({
      db,
      bus,
      logger: silentLogger,
      group: 'projection',
      consumer: 'p1',
      stream,
      claimIdleMs: 60_000,
      maxDeliveries: 3,
      blockMs: 200,
      ...options,
    });
    running.push(c);
    return c;
  }

  it('processOnce runs an effect once per consumer and event', async () => {
    const event = counted(1);
    expect(await processOnce(db, 'a', event.eventId, (tx) => project(event, tx))).toBe(true);
    expect(await processOnce(db, 'a', event.eventId, (tx) => project(event, tx))).toBe(false);
    expect(await processOnce(db, 'a', event.eventId.toUpperCase(), (tx) => project(event, tx))).toBe(false);
    expect(await projected()).toEqual([1]);
    // Another consumer has its own record of it.
    expect(await processOnce(db, 'b', event.eventId, async () => {})).toBe(true);
  });

  it('processOnce records nothing when the effect fails, so a retry runs it', async () => {
    const event = counted(2, true);
    await expect(processOnce(db, 'a', event.eventId, (tx) => project(event, tx))).rejects.toThrow(/poison/);
    expect(await projected()).toEqual([]);
    expect(await db.query('select 1 from processed_events')).toEqual([]);
    expect(await processOnce(db, 'a', event.eventId, async () => {})).toBe(true);
  });

  if (dbKind === 'postgres') {
    it('processOnce lets one of two concurrent deliveries through', async () => {
      const event = counted(3);
      const entered = deferred();
      const release = deferred();
      let runs = 0;
      const effect = async (tx: { query: Db['query'] }) => {
        runs += 1;
        await project(event, tx);
        entered.resolve();
        await release.promise;
      };
      const first = processOnce(db, 'a', event.eventId, effect);
      await entered.promise;
      const second = processOnce(db, 'a', event.eventId, effect); // waits on the first's inbox row
      await new Promise((r) => setTimeout(r, 100));
      release.resolve();
      expect(await Promise.all([first, second])).toEqual([true, false]);
      expect(runs).toBe(1);
    });
  }

  it('processBatchOnce records a batch in one statement and reports what was new', async () => {
    const [a, b, c] = [newId(), newId(), newId()];
    await db.transaction((tx) => recordProcessed(tx, 'x', [a]));
    let seen: string[] = [];
    const fresh = await processBatchOnce(db, 'x', [a, b, b.toUpperCase(), c], async (_tx, ids) => {
      seen = [...ids];
    });
    expect([...fresh].sort()).toEqual([b, c].sort());
    expect(seen.sort()).toEqual([b, c].sort());
    expect(await processBatchOnce(db, 'x', [a, b, c], async () => expect.fail('nothing is new'))).toEqual(new Set());
  });

  it('projects each event once, duplicates and redeliveries included, and ignores other types', async () => {
    const stream = freshStream();
    const events = Array.from({ length: 30 }, (_, n) => counted(n));
    const other = envelope('test.other', null, { tenantId: TENANT });
    // The relay may publish an event twice (in one batch, or later).
    await bus.append(stream, [...events.slice(0, 10), events[3]!, other, ...events.slice(10, 20)].map(toStreamFields));
    let transactions = 0;
    const countingDb: Db = { ...db, transaction: (fn) => ((transactions += 1), db.transaction(fn)) };
    const c = consumer(stream, { db: countingDb, batchSize: 100 }).on<Counted>('test.counted', project);
    await c.start();
    await waitUntil(async () => (await projected()).length === 20, 'the first twenty were projected');
    // One transaction for the whole first batch.
    expect(transactions).toBe(1);
    await bus.append(stream, [...events.slice(20), events[0]!, events[25]!].map(toStreamFields));
    await waitUntil(async () => (await projected()).length === 30, 'all thirty were projected');
    await waitUntil(async () => (await bus.groupStats(stream, 'projection')).pending === 0, 'all were acknowledged');
    expect(await projected()).toEqual(events.map((e) => e.payload.n));
    expect(await bus.groupStats(stream, 'projection')).toEqual({ pending: 0, lag: 0 });
  });

  it('keeps a poison event out of the batch, retries it alone, then dead-letters it', async () => {
    const stream = freshStream();
    const events = [counted(1), counted(2, true), counted(3)];
    await bus.append(stream, events.map(toStreamFields));
    await bus.append(stream, [{ type: 'test.counted', data: 'not json' }]);
    const metrics = new Metrics({ defaultMetrics: false });
    await consumer(stream, { claimIdleMs: 100, maxDeliveries: 3, metrics }).on<Counted>('test.counted', project).start();

    await waitUntil(async () => (await bus.length(deadLetterStream(stream))) === 2, 'the poison and the garbage were dead-lettered');
    await waitUntil(async () => (await bus.groupStats(stream, 'projection')).pending === 0, 'nothing is pending');
    expect(await projected()).toEqual([1, 3]);
    const inbox = await db.query<{ event_id: string }>('select event_id from processed_events');
    expect(inbox.map((r) => r.event_id).sort()).toEqual([events[0]!.eventId, events[2]!.eventId].sort());
    const letters = await bus.range(deadLetterStream(stream), '0', 10);
    expect(letters.map((l) => l.fields.eventId ?? l.fields.data)).toEqual([events[1]!.eventId, 'not json']);
    expect(letters[0]!.fields).toMatchObject({ deadLetterGroup: 'projection', deliveries: '3' });
    const dead = await metrics.registry.getSingleMetric('wahub_stream_dead_lettered_total')?.get();
    expect(dead?.values.reduce((sum, v) => sum + v.value, 0)).toBe(2);
  });

  it('routes by type, one handler per type', async () => {
    const stream = freshStream();
    const c = consumer(stream, { group: 'routing', handlers: { 'test.counted': project as never } });
    expect(() => c.on('test.counted', async () => {})).toThrow(/already handles/);
    expect(c.consumerGroup).toEqual({ stream, group: 'routing' });
    const other: string[] = [];
    c.on('test.other', async (event) => void other.push(event.eventId));
    const a = envelope('test.other', null, { tenantId: TENANT });
    await bus.append(stream, [toStreamFields(counted(7)), toStreamFields(a)]);
    await c.start();
    await waitUntil(async () => other.length === 1 && (await projected()).length === 1, 'both handlers ran');
    expect(other).toEqual([a.eventId]);
  });
});
