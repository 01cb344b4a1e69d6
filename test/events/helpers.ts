import { Redis } from 'ioredis';
import { MemoryStreamBus } from '../../src/events/bus/memory-stream-bus.js';
import { RedisStreamBus } from '../../src/events/bus/redis-stream-bus.js';
import type { StreamBus } from '../../src/events/bus/stream-bus.js';
import type { Db } from '../../src/platform/db/db.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPgliteDb } from '../../src/platform/db/pglite-db.js';
import { createPostgresDb } from '../../src/platform/db/postgres-db.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, TEST_REDIS_URL, uniquePrefix } from '../support/services.js';

export const silentLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** Polls until `condition` holds; fails with `what` after timeoutMs. Generous: CI machines are slow. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type BusKind = 'redis' | 'memory';
export const BUS_KINDS: BusKind[] = ['redis', 'memory'];

/**
 * Makes buses of one kind. Redis buses share one connection and each gets its own key prefix;
 * cleanup() closes them and deletes their keys.
 */
export class BusFactory {
  private redis: Redis | undefined;
  private readonly made: { bus: StreamBus; prefix: string }[] = [];

  constructor(readonly kind: BusKind) {}

  create(options: { maxLen?: number } = {}): StreamBus {
    const maxLen = options.maxLen ?? 100_000;
    const prefix = uniquePrefix();
    let bus: StreamBus;
    if (this.kind === 'redis') {
      this.redis ??= new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      bus = new RedisStreamBus(this.redis, { keyPrefix: prefix, maxLen });
    } else {
      bus = new MemoryStreamBus({ maxLen });
    }
    this.made.push({ bus, prefix });
    return bus;
  }

  async cleanup(): Promise<void> {
    for (const { bus, prefix } of this.made.splice(0)) {
      await bus.close();
      if (this.redis) {
        const keys = await this.redis.keys(`${prefix}*`);
        if (keys.length > 0) await this.redis.del(...keys);
      }
    }
    this.redis?.disconnect();
    this.redis = undefined;
  }
}

export type DbKind = 'postgres' | 'pglite';

/** A migrated database: a fresh one on the real server, or an in-memory PGlite. */
export async function createMigratedDb(kind: DbKind): Promise<{ db: Db; drop(): Promise<void> }> {
  if (kind === 'pglite') {
    const db = await createPgliteDb(undefined);
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const database = await createTestDatabase();
  const db = createPostgresDb(database.url, { max: 6 });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.close();
      await database.drop();
    },
  };
}

/** A promise with its resolve function, to hold a step until the test releases it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
