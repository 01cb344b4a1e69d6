import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StreamBus, StreamFields } from '../../src/events/bus/stream-bus.js';
import { CommandBus } from '../../src/events/command-bus.js';
import { envelope, fromStreamFields, type EventEnvelope } from '../../src/events/envelope.js';
import { enqueueOutbox, type OutboxMessage } from '../../src/events/outbox/outbox.js';
import { OutboxRelay, type OutboxRelayOptions } from '../../src/events/outbox/outbox-relay.js';
import type { Db, Queryable } from '../../src/platform/db/db.js';
import { newId } from '../../src/platform/ids.js';
import { BusFactory, createMigratedDb, deferred, silentLogger, waitUntil, type BusKind, type DbKind } from './helpers.js';

const SETUPS: { db: DbKind; bus: BusKind }[] = [
  { db: 'postgres', bus: 'redis' },
  { db: 'postgres', bus: 'memory' },
  { db: 'pglite', bus: 'memory' },
];

const TENANT = newId();
let counter = 0;
const freshStream = () => `outbox-test-${++counter}`;

type TestEvent = EventEnvelope<{ tenantId: string; partition: string; n: number }>;

function message(stream: string, partition: string, n: number): OutboxMessage {
  return { stream, partitionKey: partition, event: envelope('test.event', null, { tenantId: TENANT, partition, n }) };
}

/** A bus whose appends yield to the event loop at random, so concurrent relays interleave. */
function jitteryBus(bus: StreamBus): StreamBus {
  return Object.assign(Object.create(bus) as StreamBus, {
    async append(stream: string, entries: StreamFields[]) {
      await new Promise((r) => setTimeout(r, Math.random() * 4));
      const ids = await bus.append(stream, entries);
      await new Promise((r) => setTimeout(r, Math.random() * 4));
      return ids;
    },
  });
}

/** Checks every event went out, and that per partition the first copies came in enqueue order. */
function expectInOrder(published: TestEvent[], expected: OutboxMessage[], options: { exactlyOnce: boolean }) {
  const ids = published.map((e) => e.eventId);
  const firstCopies = published.filter((e, i) => ids.indexOf(e.eventId) === i);
  if (options.exactlyOnce) expect(ids.length).toBe(firstCopies.length);
  expect(new Set(ids)).toEqual(new Set(expected.map((m) => m.event.eventId)));
  const byPartition = new Map<string, number[]>();
  for (const e of firstCopies) byPartition.set(e.payload.partition, [...(byPartition.get(e.payload.partition) ?? []), e.payload.n]);
  for (const [partition, ns] of byPartition) {
    const wanted = expected.filter((m) => m.partitionKey === partition).map((m) => (m.event.payload as TestEvent['payload']).n);
    expect(ns, `order of partition ${partition}`).toEqual(wanted);
  }
}

describe.each(SETUPS)('OutboxRelay ($db + $bus)', ({ db: dbKind, bus: busKind }) => {
  const factory = new BusFactory(busKind);
  let db: Db;
  let drop: () => Promise<void>;
  let bus: StreamBus;

  beforeAll(async () => {
    ({ db, drop } = await createMigratedDb(dbKind));
    bus = factory.create();
  });
  afterAll(async () => {
    await factory.cleanup();
    await drop?.();
  });
  beforeEach(async () => {
    await db.query('delete from outbox');
    await db.query('delete from processed_events');
  });

  const relay = (options: Partial<OutboxRelayOptions> = {}) =>
    new OutboxRelay({ db, bus, logger: silentLogger, retentionHours: 24, ...options });
  const pendingCount = async () =>
    (await db.query<{ n: number }>(`select count(*)::int as n from outbox where status = 'pending'`))[0]!.n;
  const published = async (stream: string) =>
    (await bus.range(stream, '0', 100_000)).map((e) => fromStreamFields(e.fields) as TestEvent);
  async function enqueue(messages: OutboxMessage[], perTransaction = 10): Promise<void> {
    for (let i = 0; i < messages.length; i += perTransaction) {
      await db.transaction((tx) => enqueueOutbox(tx, messages.slice(i, i + perTransaction)));
    }
  }
  /** Runs publishBatch until nothing is pending (other relays may be working too). */
  async function drain(r: OutboxRelay): Promise<void> {
    for (let i = 0; (await pendingCount()) > 0; i++) {
      if (i > 5_000) throw new Error('the relay makes no progress');
      const { published: n } = await r.publishBatch();
      if (n === 0) await new Promise((res) => setTimeout(res, 2));
    }
  }

  it('writes a batch in one statement, keeping the order given', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 25 }, (_, n) => message(stream, `p${n % 3}`, n));
    let statements = 0;
    await db.transaction(async (tx) => {
      const counting: Queryable = {
        query: (text, params) => {
          statements += 1;
          return tx.query(text, params);
        },
        exec: (script) => tx.exec(script),
      };
      await enqueueOutbox(counting, messages);
      await enqueueOutbox(counting, []);
    });
    expect(statements).toBe(1);
    const rows = await db.query<{ event_id: string; partition_key: string; tenant_id: string; type: string; message: EventEnvelope }>(
      'select event_id, partition_key, tenant_id, type, message from outbox order by id',
    );
    expect(rows.map((r) => r.event_id)).toEqual(messages.map((m) => m.event.eventId));
    expect(rows[1]).toMatchObject({ partition_key: 'p1', tenant_id: TENANT, type: 'test.event', message: messages[1]!.event });
  });

  it('publishes each event exactly once, in order per partition, with two relays at once', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 240 }, (_, n) => message(stream, `p${(n * 7) % 6}`, n));
    await enqueue(messages);
    let count = 0;
    const options = { bus: jitteryBus(bus), batchSize: 16, onPublished: (n: number) => (count += n) };
    const [a, b] = [relay(options), relay(options)];
    await Promise.all([drain(a), drain(b)]);
    expectInOrder(await published(stream), messages, { exactlyOnce: true });
    expect(count).toBe(240);
  });

  it('publishes in order while writers and two running relays overlap', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 150 }, (_, n) => message(stream, `p${n % 5}`, n));
    const relays = [relay({ bus: jitteryBus(bus), batchSize: 8, pollMs: 10 }), relay({ bus: jitteryBus(bus), batchSize: 8, pollMs: 10 })];
    for (const r of relays) r.start();
    try {
      // Writers commit one after another (so enqueue order is commit order) while the relays run.
      for (let i = 0; i < messages.length; i += 3) {
        await db.transaction((tx) => enqueueOutbox(tx, messages.slice(i, i + 3)));
        relays[i % 2]!.notify();
      }
      await waitUntil(async () => (await bus.length(stream)) >= messages.length && (await pendingCount()) === 0, 'all were published');
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
    expectInOrder(await published(stream), messages, { exactlyOnce: true });
  });

  it('publishes again what a relay published but did not mark (it died in between)', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 40 }, (_, n) => message(stream, `p${n % 4}`, n));
    await enqueue(messages);
    let appends = 0;
    const dying = Object.assign(Object.create(bus) as StreamBus, {
      async append(s: string, entries: StreamFields[]) {
        const ids = await bus.append(s, entries);
        if (++appends === 2) throw new Error('the process died after publishing');
        return ids;
      },
    });
    const crashing = relay({ bus: dying, batchSize: 6 });
    expect((await crashing.publishBatch()).published).toBe(6);
    await expect(crashing.publishBatch()).rejects.toThrow(/died/);
    expect(await pendingCount()).toBe(34);

    await drain(relay({ batchSize: 7 }));
    const out = await published(stream);
    expect(out).toHaveLength(46); // the second batch went out twice
    expectInOrder(out, messages, { exactlyOnce: false });
  });

  it('publishes again when marking the rows fails after publishing', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 12 }, (_, n) => message(stream, `p${n % 2}`, n));
    await enqueue(messages);
    let failures = 1;
    const failingDb: Db = {
      ...db,
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: async (text, params) => {
              if (text.trimStart().startsWith('update outbox') && failures-- > 0) throw new Error('connection lost');
              return tx.query(text, params);
            },
            exec: (script) => tx.exec(script),
          }),
        ),
    };
    await expect(relay({ db: failingDb, batchSize: 5 }).publishBatch()).rejects.toThrow(/connection lost/);
    expect(await pendingCount()).toBe(12);
    await drain(relay({ db: failingDb, batchSize: 5 }));
    const out = await published(stream);
    expect(out).toHaveLength(17);
    expectInOrder(out, messages, { exactlyOnce: false });
  });

  it('publishes a row with a lower id that appears after a higher id was published', async () => {
    const stream = freshStream();
    // A transaction took its id first and commits last: there must be no high-water mark.
    const [{ id: reserved }] = (await db.query<{ id: number }>(`select nextval('outbox_id_seq')::int8 as id`)) as [{ id: number }];
    await enqueue([message(stream, 'p1', 2), message(stream, 'p2', 3)]);
    const r = relay();
    await drain(r);
    const late = message(stream, 'p1', 1);
    await db.query(
      `insert into outbox (id, tenant_id, partition_key, stream, event_id, type, message) values ($1, $2, $3, $4, $5, $6, $7)`,
      [reserved, TENANT, late.partitionKey, late.stream, late.event.eventId, late.event.type, late.event],
    );
    expect((await r.publishBatch()).published).toBe(1);
    expect((await published(stream)).map((e) => e.payload.n)).toEqual([2, 3, 1]);
    expect(await pendingCount()).toBe(0);
  });

  if (dbKind === 'postgres') {
    it('publishes a transaction that commits after a later one was published', async () => {
      const stream = freshStream();
      const entered = deferred();
      const release = deferred();
      const slow = db.transaction(async (tx) => {
        await enqueueOutbox(tx, [message(stream, 'slow', 1)]);
        entered.resolve();
        await release.promise;
      });
      await entered.promise;
      await enqueue([message(stream, 'fast', 2)]);
      const r = relay();
      expect((await r.publishBatch()).published).toBe(1);
      release.resolve();
      await slow;
      expect((await r.publishBatch()).published).toBe(1);
      expect((await published(stream)).map((e) => e.payload.n)).toEqual([2, 1]);
      const ids = await db.query<{ id: number; partition_key: string }>('select id, partition_key from outbox order by id');
      expect(ids.map((row) => row.partition_key)).toEqual(['slow', 'fast']);
    });
  }

  it('holds back a partition behind a row another relay holds, and publishes the rest', async () => {
    const stream = freshStream();
    await enqueue([message(stream, 'a', 1), message(stream, 'b', 2), message(stream, 'a', 3), message(stream, 'b', 4)]);
    const entered = deferred();
    const release = deferred();
    // Relay 1 claims only the first row (partition a) and stalls while publishing it.
    const stalling = Object.assign(Object.create(bus) as StreamBus, {
      async append(s: string, entries: StreamFields[]) {
        entered.resolve();
        await release.promise;
        return bus.append(s, entries);
      },
    });
    const first = relay({ bus: stalling, batchSize: 1 }).publishBatch();
    try {
      await entered.promise;
      if (dbKind === 'postgres') {
        // Relay 2 skips the locked row; a's later row must wait, b goes out.
        expect(await relay().publishBatch()).toEqual({ claimed: 3, published: 2 });
        expect((await published(stream)).map((e) => e.payload.n)).toEqual([2, 4]);
      }
    } finally {
      release.resolve(); // even when failing: a stalled PGlite transaction would hang every later test
    }
    expect((await first).published).toBe(1);
    await drain(relay());
    const out = (await published(stream)).map((e) => e.payload.n);
    expect(out.filter((n) => n % 2 === 1)).toEqual([1, 3]);
    expect(out.filter((n) => n % 2 === 0)).toEqual([2, 4]);
  });

  it('publishes soon after notify() and stops promptly', async () => {
    const stream = freshStream();
    const r = relay({ pollMs: 120_000 });
    r.start();
    try {
      await new Promise((res) => setTimeout(res, 100)); // its first (empty) batch is done; it sleeps
      await enqueue([message(stream, 'p', 1)]);
      r.notify();
      await waitUntil(async () => (await bus.length(stream)) === 1, 'the notified relay published');
    } finally {
      const started = Date.now();
      await r.stop();
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  it('prunes only published rows past retention, and old inbox rows', async () => {
    const stream = freshStream();
    const messages = Array.from({ length: 4 }, (_, n) => message(stream, 'p', n));
    await enqueue(messages.slice(0, 3));
    await drain(relay());
    await enqueue(messages.slice(3));
    const [old1, old2, recent, pending] = messages.map((m) => m.event.eventId);
    await db.query(`update outbox set published_at = now() - interval '3 hours' where event_id = any($1::uuid[])`, [[old1, old2]]);
    await db.query(`update outbox set created_at = now() - interval '30 days' where event_id = $1`, [pending]);
    await db.query(
      `insert into processed_events (consumer, event_id, processed_at)
       values ('c', $1, now() - interval '10 days'), ('c', $2, now() - interval '8 days'), ('c', $3, now())`,
      [newId(), newId(), newId()],
    );

    const result = await relay({ retentionHours: 2.5, processedEventsRetentionHours: 24 * 7 }).prune();
    expect(result).toEqual({ outbox: 2, processedEvents: 2 });
    const left = await db.query<{ event_id: string; status: string }>('select event_id, status from outbox order by id');
    expect(left).toEqual([
      { event_id: recent, status: 'published' },
      { event_id: pending, status: 'pending' },
    ]);
    expect(await db.query('select 1 from processed_events')).toHaveLength(1);
    expect(await relay({ retentionHours: 2.5 }).prune()).toEqual({ outbox: 0, processedEvents: 0 });
  });

  it('command bus: state and outbox rows commit together or not at all', async () => {
    await db.exec('create table if not exists command_test (id text primary key)');
    const stream = freshStream();
    const emitted: number[] = [];
    const bus = new CommandBus(
      db,
      {
        create: async (input: { id: string; fail: boolean }, ctx) => {
          await ctx.tx.query('insert into command_test (id) values ($1)', [input.id]);
          ctx.emit(message(stream, input.id, 1), message(stream, input.id, 2));
          if (input.fail) throw new Error('the use case failed after emitting');
          return input.id;
        },
      },
      { afterCommit: (n) => emitted.push(n) },
    );
    await expect(bus.execute('create', { id: 'ok', fail: false })).resolves.toBe('ok');
    await expect(bus.execute('create', { id: 'bad', fail: true })).rejects.toThrow(/after emitting/);
    expect(await db.query('select id from command_test order by id')).toEqual([{ id: 'ok' }]);
    expect(await db.query('select partition_key from outbox order by id')).toEqual([{ partition_key: 'ok' }, { partition_key: 'ok' }]);
    expect(emitted).toEqual([2]);
  });
});
