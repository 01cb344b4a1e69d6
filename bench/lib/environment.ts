import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { HttpClient } from './http.js';
import { noDelaySocket } from './nodelay.js';
import { CpuMeter, type CpuGroups } from './machine.js';
import { summarizeProfile } from './profile.js';
import { WahubServer } from './server.js';
import { WsClient } from './ws.js';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type Sql = postgres.Sql<Record<string, never>>;

/**
 * Everything one benchmark run owns: a fresh database, a Redis key prefix, a data directory and
 * the wahub process. `close()` removes all of it, and is safe to call at any point of setup.
 */
export class BenchEnvironment {
  readonly redisPrefix = `wahub-bench:${randomBytes(4).toString('hex')}:`;
  readonly databaseName = `wahub_bench_${randomBytes(4).toString('hex')}`;
  readonly databaseUrl: string;
  /** The benchmark's own connection pool to the run's database (setup, baselines, polling). */
  sql: Sql | undefined;
  redis: Redis | undefined;
  server: WahubServer | undefined;
  http: HttpClient | undefined;
  private dataDir: string | undefined;
  private databaseCreated = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: { profileDir?: string; keepDatabase?: boolean; experiments?: string[]; log: (line: string) => void }) {
    const url = new URL(DATABASE_URL);
    url.pathname = `/${this.databaseName}`;
    this.databaseUrl = url.toString();
  }

  async open(): Promise<void> {
    const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      await admin.unsafe(`create database "${this.databaseName}"`);
      this.databaseCreated = true;
    } catch (error) {
      throw new Error(`cannot create the benchmark database on ${DATABASE_URL} (is Postgres up?): ${(error as Error).message}`);
    } finally {
      await admin.end();
    }
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => {}); // failures surface through the commands that hit them
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${REDIS_URL} (is Redis up?): ${(error as Error).message}`);
    }
    this.redis = redis;
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'wahub-bench-'));
    this.server = await WahubServer.start(
      {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        ROLES: 'api,relay,consumer,worker',
        WA_DRIVER: 'simulator',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        DATA_DIR: this.dataDir,
        DATABASE_URL: this.databaseUrl,
        REDIS_URL,
        REDIS_KEY_PREFIX: this.redisPrefix,
        JWT_SECRET: randomBytes(32).toString('hex'),
        // Tokens outlive the run; the defaults of everything else are what production runs.
        ACCESS_TOKEN_TTL_SECONDS: '3600',
        ...(this.options.experiments?.length ? { BENCH_EXPERIMENTS: this.options.experiments.join(',') } : {}),
      },
    );
    // The server ran the migrations: the schema is there now.
    // `socket` is a documented postgres.js option its typings leave out.
    const options = { max: 10, onnotice: () => {}, connection: { application_name: 'wahub-bench' }, socket: noDelaySocket };
    this.sql = postgres(this.databaseUrl, options as postgres.Options<{}>) as unknown as Sql;
    this.http = new HttpClient(this.server.url, { maxSockets: 16 });
  }

  /** The processes whose CPU a benchmark accounts for: this one, wahub, the run's Postgres backends. */
  async cpuGroups(): Promise<CpuGroups> {
    const rows = this.sql ? await this.sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${this.databaseName}` : [];
    return { bench: [process.pid], wahub: this.server?.pid ? [this.server.pid] : [], postgres: rows.map((r) => r.pid) };
  }

  /**
   * Runs a measured phase; with profiling on (--profile), under the CPU profiler of the wahub
   * process, whose summary comes back with the result (the .cpuprofile stays in the profile folder).
   */
  async profiled<T>(name: string, phase: () => Promise<T>): Promise<{ result: T; profile: string[] }> {
    if (!this.options.profileDir) return { result: await phase(), profile: [] };
    await this.server!.startProfile();
    let result: T;
    const file = path.join(this.options.profileDir, `${name}.cpuprofile`);
    try {
      result = await phase();
    } finally {
      await this.server!.stopProfile(file);
    }
    return { result, profile: summarizeProfile(file).map((line) => `Profile of wahub, ${name} (${file}): ${line}`) };
  }

  /**
   * Waits until every consumer group of `domain-events` (the projections above all) has read and
   * acknowledged everything, so the next measurement does not share the machine with the last
   * one's backlog. Returns how long that took (ms).
   */
  async drained(timeoutMs = 180_000): Promise<number> {
    const t0 = performance.now();
    const key = `${this.redisPrefix}domain-events`;
    const record = (raw: unknown): Map<string, unknown> => {
      const m = new Map<string, unknown>();
      if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) m.set(String(raw[i]), raw[i + 1]);
      else if (raw && typeof raw === 'object') for (const [k, v] of raw instanceof Map ? raw : Object.entries(raw)) m.set(String(k), v);
      return m;
    };
    for (;;) {
      const groups = ((await this.redis!.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[]).map(record);
      const busy = groups.filter((g) => Number(g.get('pending') ?? 0) > 0 || Number(g.get('lag') ?? 0) > 0);
      if (busy.length === 0) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs) {
        const what = busy.map((g) => `${String(g.get('name'))}: lag ${String(g.get('lag'))}, pending ${String(g.get('pending'))}`).join('; ');
        throw new Error(`domain-events consumers still busy after ${timeoutMs / 1000} s (${what})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Starts accounting for CPU use (stop() says where it went). */
  cpuMeter(): CpuMeter {
    return new CpuMeter(() => this.cpuGroups());
  }

  /** A tenant with a connected simulator session and an open WebSocket. */
  async connectedTenant(label: string): Promise<Tenant> {
    const http = this.http!;
    const email = `${label}-${randomBytes(4).toString('hex')}@bench.example.com`;
    const password = 'correct horse battery staple';
    const user = await http.json<{ id: string; tenantId: string }>('POST', '/users', { body: { email, password, name: label }, status: 201 });
    // As the emailed verification link would.
    await this.sql!`update users set email_verified_at = now() where id = ${user.id}`;
    const { accessToken } = await http.json<{ accessToken: string }>('POST', '/auth/login', { body: { email, password } });
    const ws = await WsClient.connect(this.server!.url, accessToken);
    await ws.next('session.snapshot');
    const { session } = await http.json<{ session: { id: string } }>('POST', '/sessions', { token: accessToken, status: 201 });
    await ws.next('session.qr.updated');
    const phone = `5197${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    await http.json('POST', `/simulator/sessions/${session.id}/scan`, { body: { phone }, token: accessToken, status: 202 });
    await ws.next('session.status.connected');
    ws.clear();
    return { label, token: accessToken, userId: user.id, tenantId: user.tenantId, sessionId: session.id, phone, ownJid: `${phone}@s.whatsapp.net`, ws };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const problems: string[] = [];
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (error) {
          problems.push(`${what}: ${(error as Error).message}`);
        }
      };
      this.http?.close();
      await attempt('stopping wahub', async () => this.server?.stop());
      await attempt('closing the pool', async () => this.sql?.end({ timeout: 5 }));
      if (this.redis) {
        await attempt('removing Redis keys', async () => {
          const redis = this.redis!;
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.redisPrefix}*`, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.unlink(...keys);
          } while (cursor !== '0');
        });
        this.redis.disconnect();
      }
      if (this.databaseCreated && this.options.keepDatabase) {
        this.options.log(`kept the database for inspection: ${this.databaseUrl} (drop it when done)`);
      } else if (this.databaseCreated) {
        await attempt('dropping the database', async () => {
          const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
          try {
            await admin.unsafe(`drop database if exists "${this.databaseName}" with (force)`);
          } finally {
            await admin.end();
          }
        });
      }
      if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
      for (const p of problems) this.options.log(`cleanup: ${p}`);
    })();
    return this.closing;
  }
}

export interface Tenant {
  label: string;
  token: string;
  userId: string;
  tenantId: string;
  sessionId: string;
  phone: string;
  ownJid: string;
  ws: WsClient;
}
