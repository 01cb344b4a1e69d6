import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStreamBus } from '../bus/memory-stream-bus.js';
import { envelope, toStreamFields, type EventEnvelope } from '../envelope.js';
import type { Db } from '../../platform/db/db.js';
import { createPgliteDb } from '../../platform/db/pglite-db.js';
import { migrate } from '../../platform/db/migrate.js';
import { createLogger } from '../../platform/logger.js';
import { entryJson, EventConsumer, type EventContext } from './event-consumer.js';

describe('EventConsumer handler context', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createPgliteDb(undefined);
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('hands each handler its stream entry, so it can read companion fields such as full, batched or one by one', async () => {
    const seen: { type: string; entryId: string; full: unknown }[] = [];
    const record = async (event: EventEnvelope, _tx: unknown, context: EventContext) =>
      void seen.push({ type: event.type, entryId: context.entryId, full: entryJson(context, 'full') });
    const twoArgs = async (event: EventEnvelope) => void seen.push({ type: event.type, entryId: '-', full: undefined });
    const consumer = new EventConsumer({
      db,
      bus: new MemoryStreamBus({ maxLen: 100 }),
      logger: createLogger('silent'),
      group: 'context-test',
      handlers: { 'x.full': record, 'x.plain': twoArgs },
      claimIdleMs: 60_000,
      maxDeliveries: 3,
    });
    const withFull = { ...toStreamFields(envelope('x.full', null, { tenantId: 't' })), full: JSON.stringify({ rows: [1, 2, 3] }) };
    const plain = toStreamFields(envelope('x.plain', null, { tenantId: 't' }));
    expect(await consumer.handleBatch([{ id: '1-0', fields: withFull }, { id: '2-0', fields: plain }])).toEqual([]);
    const alone = toStreamFields(envelope('x.full', null, { tenantId: 't' }));
    expect(await consumer.handleBatch([{ id: '3-0', fields: alone }])).toEqual([]);
    expect(seen).toEqual([
      { type: 'x.full', entryId: '1-0', full: { rows: [1, 2, 3] } },
      { type: 'x.plain', entryId: '-', full: undefined },
      { type: 'x.full', entryId: '3-0', full: undefined },
    ]);
  });

  it('leaves an entry whose companion field is not JSON pending', async () => {
    const consumer = new EventConsumer({
      db,
      bus: new MemoryStreamBus({ maxLen: 100 }),
      logger: createLogger('silent'),
      group: 'context-test-bad',
      handlers: { 'x.full': async (_e, _tx, context) => void entryJson(context, 'full') },
      claimIdleMs: 60_000,
      maxDeliveries: 3,
    });
    const bad = { ...toStreamFields(envelope('x.full', null, { tenantId: 't' })), full: '{not json' };
    expect(await consumer.handleBatch([{ id: '9-0', fields: bad }])).toEqual(['9-0']);
  });
});
