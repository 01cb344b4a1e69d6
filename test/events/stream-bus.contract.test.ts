import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareStreamIds, deadLetterStream, type StreamBus, type StreamEntry } from '../../src/events/bus/stream-bus.js';
import { BUS_KINDS, BusFactory, waitUntil } from './helpers.js';

const ids = (entries: StreamEntry[]) => entries.map((e) => e.id);
const numbered = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ n: String(from + i) }));
let counter = 0;
const freshStream = () => `stream-${++counter}`;

/** The same suite for Redis Streams and the in-process model: they must not differ in behaviour. */
describe.each(BUS_KINDS)('StreamBus contract (%s)', (kind) => {
  const factory = new BusFactory(kind);
  let bus: StreamBus;
  beforeAll(() => {
    bus = factory.create();
  });
  afterAll(() => factory.cleanup());

  it('appends, delivers to a group and forgets acknowledged entries', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const appended = await bus.append(stream, [{ a: '1' }, { a: '2', b: 'x' }]);
    expect(appended).toHaveLength(2);
    expect(compareStreamIds(appended[0]!, appended[1]!)).toBeLessThan(0);
    expect(await bus.append(stream, [])).toEqual([]);

    const got = await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0 });
    expect(got).toEqual([
      { id: appended[0], fields: { a: '1' } },
      { id: appended[1], fields: { a: '2', b: 'x' } },
    ]);
    expect(await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0 })).toEqual([]);
    expect((await bus.groupStats(stream, 'g')).pending).toBe(2);

    await bus.ack(stream, 'g', [appended[0]!]);
    expect((await bus.groupStats(stream, 'g')).pending).toBe(1);
    await bus.ack(stream, 'g', [appended[1]!]);
    await bus.ack(stream, 'g', []);
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 0, lag: 0 });
    expect(await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0, pending: true })).toEqual([]);
  });

  it('keeps the order of appends across calls, and ids grow', async () => {
    const stream = freshStream();
    const appended = [
      ...(await bus.append(stream, numbered(5, 0))),
      ...(await bus.append(stream, numbered(1, 5))),
      ...(await bus.append(stream, numbered(30, 6))),
    ];
    for (let i = 1; i < appended.length; i++) expect(compareStreamIds(appended[i - 1]!, appended[i]!)).toBeLessThan(0);
    const all = await bus.range(stream, '0', 100);
    expect(ids(all)).toEqual(appended);
    expect(all.map((e) => Number(e.fields.n))).toEqual(Array.from({ length: 36 }, (_, i) => i));

    await bus.ensureGroup(stream, 'g');
    const delivered: StreamEntry[] = [];
    for (;;) {
      const page = await bus.readGroup(stream, 'g', 'c', { count: 7, blockMs: 0 });
      if (page.length === 0) break;
      delivered.push(...page);
    }
    expect(ids(delivered)).toEqual(appended);
  });

  it('shares a group between consumers without duplicates', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const appended = await bus.append(stream, numbered(50));
    const seen: Record<string, string[]> = { c1: [], c2: [] };
    let emptyInARow = 0;
    for (let turn = 0; emptyInARow < 2; turn++) {
      const consumer = turn % 2 === 0 ? 'c1' : 'c2';
      const page = await bus.readGroup(stream, 'g', consumer, { count: 7, blockMs: 0 });
      emptyInARow = page.length === 0 ? emptyInARow + 1 : 0;
      seen[consumer]!.push(...ids(page));
    }
    expect(seen.c1!.length).toBeGreaterThan(0);
    expect(seen.c2!.length).toBeGreaterThan(0);
    expect([...seen.c1!, ...seen.c2!].sort(compareStreamIds)).toEqual(appended);
    // Each consumer's pending list holds exactly what it was given.
    expect(ids(await bus.readGroup(stream, 'g', 'c1', { count: 100, blockMs: 0, pending: true }))).toEqual(seen.c1);
    expect(ids(await bus.readGroup(stream, 'g', 'c2', { count: 100, blockMs: 0, pending: true }))).toEqual(seen.c2);
  });

  it("lets another consumer claim a crashed consumer's entries once they are idle", async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const appended = await bus.append(stream, numbered(5));
    // c1 reads and "crashes": it never acknowledges.
    expect(ids(await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0 }))).toEqual(appended);

    // Not idle long enough yet.
    const early = await bus.claimStale(stream, 'g', 'c2', { minIdleMs: 600_000, count: 10, maxDeliveries: 5 });
    expect(early).toEqual({ claimed: [], deadLettered: [] });

    const claimed: StreamEntry[] = [];
    await waitUntil(async () => {
      const result = await bus.claimStale(stream, 'g', 'c2', { minIdleMs: 30, count: 10, maxDeliveries: 5 });
      expect(result.deadLettered).toEqual([]);
      claimed.push(...result.claimed);
      return claimed.length >= 5;
    }, 'c2 claimed the five entries');
    expect(ids(claimed)).toEqual(appended);
    expect(claimed[0]!.fields).toEqual({ n: '0' });

    // They now belong to c2.
    expect(await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0, pending: true })).toEqual([]);
    expect(ids(await bus.readGroup(stream, 'g', 'c2', { count: 10, blockMs: 0, pending: true }))).toEqual(appended);
    await bus.ack(stream, 'g', ids(claimed));
    expect((await bus.groupStats(stream, 'g')).pending).toBe(0);
    expect(await bus.claimStale(stream, 'g', 'c3', { minIdleMs: 0, count: 10, maxDeliveries: 5 })).toEqual({ claimed: [], deadLettered: [] });
  });

  it('re-reads its own pending entries first after a restart, page by page', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const appended = await bus.append(stream, numbered(5));
    await bus.readGroup(stream, 'g', 'c1', { count: 3, blockMs: 0 });
    await bus.readGroup(stream, 'g', 'c2', { count: 2, blockMs: 0 });

    // "Restart" of c1: its own pending entries come back with their fields; c2's do not.
    const first = await bus.readGroup(stream, 'g', 'c1', { count: 2, blockMs: 0, pending: true });
    expect(first).toEqual([
      { id: appended[0], fields: { n: '0' } },
      { id: appended[1], fields: { n: '1' } },
    ]);
    const next = await bus.readGroup(stream, 'g', 'c1', { count: 2, blockMs: 0, pending: true, afterId: first[1]!.id });
    expect(ids(next)).toEqual([appended[2]]);
    expect(await bus.readGroup(stream, 'g', 'c1', { count: 2, blockMs: 0, pending: true, afterId: appended[2]! })).toEqual([]);
    // A pending read does not take new entries.
    expect((await bus.groupStats(stream, 'g')).lag).toBe(0);
    expect(await bus.readGroup(stream, 'g', 'c3', { count: 10, blockMs: 0, pending: true })).toEqual([]);
  });

  it('counts deliveries and moves an entry to the dead-letter stream after maxDeliveries', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const [poison, healthy] = await bus.append(stream, [{ n: 'poison', data: '{"x":1}' }, { n: 'healthy' }]);
    await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0 }); // delivery 1
    await bus.ack(stream, 'g', [healthy!]);
    await bus.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0, pending: true }); // delivery 2 (a restart)

    // maxDeliveries 4: one claim (delivery 3), another (delivery 4), then the dead letter.
    const options = { minIdleMs: 0, count: 10, maxDeliveries: 4 };
    expect(ids((await bus.claimStale(stream, 'g', 'c2', options)).claimed)).toEqual([poison]);
    const again = await bus.claimStale(stream, 'g', 'c3', options);
    expect(again).toEqual({ claimed: [{ id: poison, fields: { n: 'poison', data: '{"x":1}' } }], deadLettered: [] });
    const last = await bus.claimStale(stream, 'g', 'c2', options);
    expect(last).toEqual({ claimed: [], deadLettered: [{ id: poison, fields: { n: 'poison', data: '{"x":1}' } }] });

    const letters = await bus.range(deadLetterStream(stream), '0', 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.fields).toEqual({ n: 'poison', data: '{"x":1}', deadLetterOf: poison, deadLetterGroup: 'g', deliveries: '4' });
    expect(await bus.length(deadLetterStream(stream))).toBe(1);
    // No longer pending anywhere, so never delivered again.
    expect((await bus.groupStats(stream, 'g')).pending).toBe(0);
    for (const c of ['c1', 'c2', 'c3']) expect(await bus.readGroup(stream, 'g', c, { count: 10, blockMs: 0, pending: true })).toEqual([]);
    expect(await bus.claimStale(stream, 'g', 'c2', options)).toEqual({ claimed: [], deadLettered: [] });
    // The entry itself stays in the stream.
    expect(await bus.length(stream)).toBe(2);
  });

  it('wakes a blocking group read on append', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const started = Date.now();
    const reading = bus.readGroup(stream, 'g', 'c', { count: 10, blockMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    const [id] = await bus.append(stream, [{ woke: 'yes' }]);
    expect(await reading).toEqual([{ id, fields: { woke: 'yes' } }]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('returns nothing when a blocking read times out, and at once when aborted', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    expect(await bus.readGroup(stream, 'g', 'c', { count: 10, blockMs: 50 })).toEqual([]);
    expect(await bus.read(stream, '0', { count: 10, blockMs: 50 })).toEqual([]);

    const controller = new AbortController();
    const started = Date.now();
    const reading = bus.readGroup(stream, 'g', 'c', { count: 10, blockMs: 60_000, signal: controller.signal });
    const fanOut = bus.read(stream, '0', { count: 10, blockMs: 60_000, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    expect(await reading).toEqual([]);
    expect(await fanOut).toEqual([]);
    expect(Date.now() - started).toBeLessThan(30_000);

    // The bus still works afterwards, blocking reads included.
    const [id] = await bus.append(stream, [{ after: 'abort' }]);
    expect(ids(await bus.readGroup(stream, 'g', 'c', { count: 10, blockMs: 1000 }))).toEqual([id]);
  });

  it('ends blocking reads on close and refuses new ones', async () => {
    const own = factory.create();
    const stream = freshStream();
    await own.ensureGroup(stream, 'g');
    const started = Date.now();
    const reading = own.readGroup(stream, 'g', 'c', { count: 10, blockMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    await own.close();
    expect(await reading).toEqual([]);
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect(own.read(stream, '0', { count: 10, blockMs: 1000 })).rejects.toThrow(/closed/);
  });

  it('fans out: independent readers each see every entry, blocking ones too', async () => {
    const stream = freshStream();
    const first = await bus.append(stream, numbered(3));
    const readerA = await bus.read(stream, '0', { count: 100, blockMs: 0 });
    const readerB = await bus.read(stream, '0', { count: 2, blockMs: 0 });
    expect(ids(readerA)).toEqual(first);
    expect(ids(readerB)).toEqual(first.slice(0, 2));
    expect(ids(await bus.read(stream, readerB[1]!.id, { count: 100, blockMs: 0 }))).toEqual(first.slice(2));

    // Two readers blocked on the same stream at once both wake on one append.
    const waitingA = bus.read(stream, first[2]!, { count: 10, blockMs: 20_000 });
    const waitingB = bus.read(stream, first[2]!, { count: 10, blockMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    const [next] = await bus.append(stream, [{ n: 'next' }]);
    expect(ids(await waitingA)).toEqual([next]);
    expect(ids(await waitingB)).toEqual([next]);
  });

  it('ranges after an id, exclusively, with a count', async () => {
    const stream = freshStream();
    expect(await bus.range(stream, '0', 10)).toEqual([]);
    const appended = await bus.append(stream, numbered(6));
    expect(ids(await bus.range(stream, appended[1]!, 10))).toEqual(appended.slice(2));
    expect(ids(await bus.range(stream, appended[1]!, 2))).toEqual(appended.slice(2, 4));
    expect(ids(await bus.range(stream, '0-0', 3))).toEqual(appended.slice(0, 3));
    expect(await bus.range(stream, appended[5]!, 10)).toEqual([]);
  });

  it('reports lastId, firstId and length', async () => {
    const stream = freshStream();
    expect(await bus.lastId(stream)).toBe('0-0');
    expect(await bus.firstId(stream)).toBeNull();
    expect(await bus.length(stream)).toBe(0);
    const appended = await bus.append(stream, numbered(4));
    expect(await bus.lastId(stream)).toBe(appended[3]);
    expect(await bus.firstId(stream)).toBe(appended[0]);
    expect(await bus.length(stream)).toBe(4);
  });

  it('trims to about maxLen, keeping the newest entries', async () => {
    const small = factory.create({ maxLen: 100 });
    const stream = freshStream();
    const appended: string[] = [];
    for (let i = 0; i < 10; i++) appended.push(...(await small.append(stream, numbered(100, i * 100))));
    const length = await small.length(stream);
    // MAXLEN ~ removes whole nodes only (Redis) or chunks (memory): about maxLen, never fewer.
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(300);
    expect(await small.lastId(stream)).toBe(appended.at(-1));
    expect(await small.firstId(stream)).toBe(appended[appended.length - length]);
    const kept = await small.range(stream, '0', 1000);
    expect(ids(kept)).toEqual(appended.slice(-length));
  });

  it('drops pending entries that were trimmed away', async () => {
    const small = factory.create({ maxLen: 100 });
    const stream = freshStream();
    await small.ensureGroup(stream, 'g');
    const [lost] = await small.append(stream, [{ n: 'lost' }]);
    expect(ids(await small.readGroup(stream, 'g', 'c1', { count: 1, blockMs: 0 }))).toEqual([lost]);
    for (let i = 0; i < 10; i++) await small.append(stream, numbered(100));
    expect(await small.firstId(stream)).not.toBe(lost);

    const kept = await small.readGroup(stream, 'g', 'c2', { count: 5, blockMs: 0 });
    expect(kept).toHaveLength(5);
    // c1's pending entry has nothing left to deliver: a pending read drops it...
    expect(await small.readGroup(stream, 'g', 'c1', { count: 10, blockMs: 0, pending: true })).toEqual([]);
    expect((await small.groupStats(stream, 'g')).pending).toBe(5);
    // ...and so does a claim, which still takes the entries that exist.
    const [lost2] = await small.append(stream, [{ n: 'lost2' }]);
    await small.readGroup(stream, 'g', 'c3', { count: 1000, blockMs: 0 });
    for (let i = 0; i < 10; i++) await small.append(stream, numbered(100));
    const result = await small.claimStale(stream, 'g', 'c4', { minIdleMs: 0, count: 2000, maxDeliveries: 10 });
    expect(ids(result.claimed)).not.toContain(lost2);
    expect(result.deadLettered).toEqual([]);
    expect((await small.groupStats(stream, 'g')).pending).toBe(result.claimed.length);
  });

  it('reports pending and lag per group', async () => {
    const stream = freshStream();
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 0, lag: null });
    await bus.append(stream, numbered(5));
    await bus.ensureGroup(stream, 'g');
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 0, lag: 5 });
    expect(await bus.groupStats(stream, 'other')).toEqual({ pending: 0, lag: null });
    const got = await bus.readGroup(stream, 'g', 'c', { count: 2, blockMs: 0 });
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 2, lag: 3 });
    await bus.ack(stream, 'g', [got[0]!.id]);
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 1, lag: 3 });
    await bus.append(stream, numbered(2));
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 1, lag: 5 });
  });

  it("creates groups idempotently, from '0' or from '$'", async () => {
    const stream = freshStream();
    const old = await bus.append(stream, numbered(3));
    await bus.ensureGroup(stream, 'all', '0');
    await bus.ensureGroup(stream, 'new', '$');
    expect(ids(await bus.readGroup(stream, 'all', 'c', { count: 10, blockMs: 0 }))).toEqual(old);
    expect(await bus.readGroup(stream, 'new', 'c', { count: 10, blockMs: 0 })).toEqual([]);

    // Creating again changes nothing: pending entries and positions stay.
    await bus.ensureGroup(stream, 'all', '0');
    await bus.ensureGroup(stream, 'new', '0');
    expect(await bus.groupStats(stream, 'all')).toEqual({ pending: 3, lag: 0 });
    const fresh = await bus.append(stream, [{ n: 'fresh' }]);
    expect(ids(await bus.readGroup(stream, 'new', 'c', { count: 10, blockMs: 0 }))).toEqual(fresh);
    expect(ids(await bus.readGroup(stream, 'all', 'c', { count: 10, blockMs: 0 }))).toEqual(fresh);

    // A group on a stream that does not exist yet creates the stream.
    const empty = freshStream();
    await bus.ensureGroup(empty, 'g', '$');
    const [first] = await bus.append(empty, [{ n: 'first' }]);
    expect(ids(await bus.readGroup(empty, 'g', 'c', { count: 10, blockMs: 0 }))).toEqual([first]);
  });

  it('refuses to read from a group that does not exist', async () => {
    const stream = freshStream();
    await bus.append(stream, numbered(1));
    await expect(bus.readGroup(stream, 'missing', 'c', { count: 1, blockMs: 0 })).rejects.toThrow(/NOGROUP/);
    await expect(bus.ack(stream, 'missing', ['1-0'])).resolves.toBeUndefined();
  });
});
