import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/db.js';
import { createPgliteDb } from '../platform/db/pglite-db.js';
import { createPostgresDb } from '../platform/db/postgres-db.js';
import { migrate } from '../platform/db/migrate.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics.js';
import { createRedis, type Redis } from '../platform/redis.js';
import { randomToken } from '../platform/crypto.js';
import { systemClock, type Clock } from '../platform/clock.js';
import { MemoryStreamBus } from '../events/bus/memory-stream-bus.js';
import { RedisStreamBus } from '../events/bus/redis-stream-bus.js';
import type { StreamBus } from '../events/bus/stream-bus.js';
import type { MediaStorage } from '../modules/media/index.js';
import { createMediaStorage } from './media-module.js';

/** The plain object of shared resources every module is built from. Only src/app constructs adapters. */
export interface Resources {
  config: Config;
  logger: Logger;
  db: Db;
  redis: Redis | undefined;
  bus: StreamBus;
  metrics: Metrics;
  clock: Clock;
  jwtSecret: string;
  /** Media files: S3-compatible storage when S3_BUCKET is set, else DATA_DIR/media. */
  mediaStorage: MediaStorage;
  close(): Promise<void>;
}

/**
 * Outside production a missing JWT_SECRET is replaced by one generated once and kept in DATA_DIR,
 * so `npm start` needs no configuration and tokens survive a restart.
 */
function resolveJwtSecret(config: Config, logger: Logger): string {
  if (config.jwtSecret) return config.jwtSecret;
  const file = path.join(config.dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomToken(48);
  writeFileSync(file, secret, { mode: 0o600 });
  logger.warn({ file }, 'JWT_SECRET is not set: generated one for this data directory (set JWT_SECRET in production)');
  return secret;
}

export async function createResources(config: Config, overrides: { logger?: Logger; metrics?: Metrics } = {}): Promise<Resources> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  if (!config.redisUrl && config.roles.length < 4) {
    // The in-process stream only connects roles that share this process.
    throw new Error('ROLES can split the roles across processes only with REDIS_URL set (the embedded stream is in-process)');
  }
  const db = config.databaseUrl
    ? createPostgresDb(config.databaseUrl, { max: config.databasePoolMax })
    : await createPgliteDb(path.join(config.dataDir, 'pglite'));
  const redis = config.redisUrl ? createRedis(config.redisUrl) : undefined;
  const bus: StreamBus = redis
    ? new RedisStreamBus(redis, { keyPrefix: config.redisKeyPrefix, maxLen: config.streamMaxLen })
    : new MemoryStreamBus({ maxLen: config.streamMaxLen });
  const metrics = overrides.metrics ?? new Metrics();
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const mediaStorage = createMediaStorage(config);
  return {
    config,
    logger,
    db,
    redis,
    bus,
    metrics,
    clock: systemClock,
    jwtSecret: resolveJwtSecret(config, logger),
    mediaStorage,
    async close() {
      mediaStorage.close?.();
      await bus.close();
      redis?.disconnect();
      await db.close();
    },
  };
}
