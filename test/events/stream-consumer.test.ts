import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterStream, type StreamBus, type StreamEntry } from '../../src/events/bus/stream-bus.js';
import { StreamConsumer, streamConsumerMetrics, type StreamConsumerOptions } from '../../src/events/bus/stream-consumer.js';
import { Metrics } from '../../src/platform/metrics.js';
import { BUS_KINDS, BusFactory, silentLogger, waitUntil } from './helpers.js';

let counter = 0;
const freshStream = () => `consumer-stream-${++counter}`;

async function counterValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

describe.each(BUS_KINDS)('StreamConsumer (%s)', (kind) => {
  const factory = new BusFactory(kind);
  let bus: StreamBus;
  const running: StreamConsumer[] = [];
  beforeAll(() => {
    bus = factory.create();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(() => factory.cleanup());

  function consumer(options: Partial<StreamConsumerOptions> & Pick<StreamConsumerOptions, 'stream' | 'handle'>): StreamConsumer {
    const c = new StreamConsumer({
      bus,
      group: 'g',
      consumer: 'c1',
      logger: silentLogger,
      claimIdleMs: 60_000,
      maxDeliveries: 5,
      blockMs: 200,
      ...options,
    } as StreamConsumerOptions);
    running.push(c);
    return c;
  }

  it('processes every entry once, in order, and acknowledges it', async () => {
    const stream = freshStream();
    const seen: string[] = [];
    const c = consumer({ stream, batchSize: 7, handle: async (e) => void seen.push(e.id) });
    await c.start();
    const appended: string[] = [];
    for (let i = 0; i < 20; i++) appended.push(...(await bus.append(stream, Array.from({ length: 10 }, (_, j) => ({ n: `${i}.${j}` })))));
    await waitUntil(() => seen.length >= appended.length, 'every entry was handled');
    await waitUntil(async () => (await bus.groupStats(stream, 'g')).pending === 0, 'every entry was acknowledged');
    expect(seen).toEqual(appended);
    expect(await bus.groupStats(stream, 'g')).toEqual({ pending: 0, lag: 0 });
  });

  it('redelivers failed entries and dead-letters them after maxDeliveries', async () => {
    const stream = freshStream();
    const attempts = new Map<string, number>();
    const done: string[] = [];
    const deadLettered: StreamEntry[] = [];
    const metrics = new Metrics({ defaultMetrics: false });
    const c = consumer({
      stream,
      claimIdleMs: 100,
      maxDeliveries: 3,
      metrics,
      onDeadLetter: (entries) => deadLettered.push(...entries),
      handle: async (entry) => {
        const n = (attempts.get(entry.fields.kind!) ?? 0) + 1;
        attempts.set(entry.fields.kind!, n);
        if (entry.fields.kind === 'poison') throw new Error('never works');
        if (entry.fields.kind === 'flaky' && n === 1) throw new Error('works the second time');
        done.push(entry.fields.kind!);
      },
    });
    await c.start();
    const [, poison] = await bus.append(stream, [{ kind: 'ok' }, { kind: 'poison' }, { kind: 'flaky' }]);
    await waitUntil(async () => (await bus.length(deadLetterStream(stream))) === 1, 'the poison entry was dead-lettered');
    await waitUntil(async () => (await bus.groupStats(stream, 'g')).pending === 0, 'nothing is pending');

    expect(done.sort()).toEqual(['flaky', 'ok']);
    // Delivered (and so attempted) exactly maxDeliveries times: one read, two claims.
    expect(attempts.get('poison')).toBe(3);
    expect(attempts.get('flaky')).toBe(2);
    expect(deadLettered.map((e) => e.id)).toEqual([poison]);
    const [letter] = await bus.range(deadLetterStream(stream), '0', 10);
    expect(letter!.fields).toMatchObject({ kind: 'poison', deadLetterOf: poison, deadLetterGroup: 'g', deliveries: '3' });

    await waitUntil(async () => (await counterValue(metrics, 'wahub_stream_dead_lettered_total', { stream, group: 'g' })) === 1, 'the dead letter was counted');
    expect(await counterValue(metrics, 'wahub_stream_entries_processed_total', { stream, group: 'g', outcome: 'ok' })).toBe(2);
    expect(await counterValue(metrics, 'wahub_stream_entries_processed_total', { stream, group: 'g', outcome: 'failed' })).toBe(4);
  });

  it('after stop(), a consumer with the same name handles its own pending entries first', async () => {
    const stream = freshStream();
    const appended = await bus.append(stream, Array.from({ length: 6 }, (_, i) => ({ n: String(i) })));
    const first: string[] = [];
    let stopping: Promise<void> | undefined;
    const c1 = consumer({
      stream,
      batchSize: 10,
      handle: async (e) => {
        first.push(e.id);
        // Stop in the middle of the batch: the rest of it stays pending for this name.
        if (first.length === 2) stopping = c1.stop();
      },
    });
    await c1.start();
    await waitUntil(() => stopping !== undefined, 'the first consumer stopped itself');
    await stopping;
    expect(first).toEqual(appended.slice(0, 2));
    expect((await bus.groupStats(stream, 'g')).pending).toBe(4);

    // New entries arrive while no one runs; the restarted consumer takes its leftovers first.
    const later = await bus.append(stream, [{ n: 'later' }]);
    const second: string[] = [];
    const c2 = consumer({ stream, batchSize: 10, handle: async (e) => void second.push(e.id) });
    await c2.start();
    await waitUntil(() => second.length >= 5, 'the restarted consumer handled everything');
    expect(second).toEqual([...appended.slice(2), ...later]);
    await waitUntil(async () => (await bus.groupStats(stream, 'g')).pending === 0, 'nothing is pending');
  });

  it('handles what a crashed consumer of the same name left pending, before new entries', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const crashed = await bus.append(stream, Array.from({ length: 250 }, (_, i) => ({ n: String(i) })));
    // The crash: delivered to 'c1', never acknowledged.
    expect(await bus.readGroup(stream, 'g', 'c1', { count: 1000, blockMs: 0 })).toHaveLength(250);
    const fresh = await bus.append(stream, [{ n: 'fresh' }]);
    const seen: string[] = [];
    const c = consumer({ stream, batchSize: 100, handle: async (e) => void seen.push(e.id) });
    await c.start();
    await waitUntil(() => seen.length >= 251, 'everything was handled');
    expect(seen).toEqual([...crashed, ...fresh]);
  });

  it('stops promptly while blocked in a read', async () => {
    const stream = freshStream();
    const c = consumer({ stream, blockMs: 60_000, claimIdleMs: 600_000, handle: async () => {} });
    await c.start();
    await new Promise((r) => setTimeout(r, 200)); // let it block
    const started = Date.now();
    await c.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    // The bus is still usable by others.
    const [id] = await bus.append(stream, [{ after: 'stop' }]);
    expect((await bus.readGroup(stream, 'g', 'other', { count: 10, blockMs: 1000 })).map((e) => e.id)).toEqual([id]);
  });

  it('shares a group: two consumers together handle each entry once', async () => {
    const stream = freshStream();
    const seen: string[] = [];
    const handle = async (e: StreamEntry) => void seen.push(e.id);
    await consumer({ stream, consumer: 'a', batchSize: 5, handle }).start();
    await consumer({ stream, consumer: 'b', batchSize: 5, handle }).start();
    const appended: string[] = [];
    for (let i = 0; i < 10; i++) appended.push(...(await bus.append(stream, Array.from({ length: 10 }, () => ({ x: '1' })))));
    await waitUntil(() => seen.length >= 100, 'every entry was handled');
    await waitUntil(async () => (await bus.groupStats(stream, 'g')).pending === 0, 'every entry was acknowledged');
    expect([...seen].sort()).toEqual([...appended].sort());
  });

  it('takes over the entries of a consumer that died', async () => {
    const stream = freshStream();
    await bus.ensureGroup(stream, 'g');
    const appended = await bus.append(stream, [{ n: '1' }, { n: '2' }]);
    await bus.readGroup(stream, 'g', 'dead', { count: 10, blockMs: 0 });
    const seen: string[] = [];
    await consumer({ stream, consumer: 'alive', claimIdleMs: 100, handle: async (e) => void seen.push(e.id) }).start();
    await waitUntil(() => seen.length >= 2, 'the live consumer claimed both');
    expect(seen).toEqual(appended);
  });

  it('builds metric hooks for any consumer', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const hooks = streamConsumerMetrics(metrics, 's', 'g');
    hooks.onProcessed(3, 1);
    hooks.onDeadLetter([{ id: '1-0', fields: {} }]);
    expect(await counterValue(metrics, 'wahub_stream_entries_processed_total', { stream: 's', group: 'g', outcome: 'ok' })).toBe(3);
    expect(await counterValue(metrics, 'wahub_stream_entries_processed_total', { stream: 's', group: 'g', outcome: 'failed' })).toBe(1);
    expect(await counterValue(metrics, 'wahub_stream_dead_lettered_total', { stream: 's', group: 'g' })).toBe(1);
  });
});
