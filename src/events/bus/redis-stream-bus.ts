import type { Redis } from 'ioredis';
import {
  deadLetterStream,
  type ClaimOptions,
  type ClaimResult,
  type GroupReadOptions,
  type GroupStats,
  type StreamBus,
  type StreamEntry,
  type StreamFields,
} from './stream-bus.js';

type RawEntry = [id: string, fields: string[] | null];

function toFields(raw: string[] | null): StreamFields {
  const fields: StreamFields = {};
  if (!raw) return fields;
  for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]!] = raw[i + 1]!;
  return fields;
}

function toEntries(raw: RawEntry[] | null | undefined): StreamEntry[] {
  if (!raw) return [];
  // A null field list is an entry trimmed away while it was pending: there is nothing to deliver.
  return raw.filter(([, f]) => f !== null).map(([id, f]) => ({ id, fields: toFields(f) }));
}

function flatten(fields: StreamFields): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) out.push(k, v);
  return out;
}

/** Redis Streams. Blocking reads get a connection of their own so they never stall other commands. */
export class RedisStreamBus implements StreamBus {
  readonly kind = 'redis' as const;
  private readonly blocking = new Map<string, Redis>();

  constructor(
    private readonly redis: Redis,
    private readonly options: { keyPrefix: string; maxLen: number },
  ) {}

  private key(stream: string): string {
    return this.options.keyPrefix + stream;
  }

  private blockingClient(name: string): Redis {
    let client = this.blocking.get(name);
    if (!client) {
      client = this.redis.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
      this.blocking.set(name, client);
    }
    return client;
  }

  async append(stream: string, entries: StreamFields[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const fields of entries) {
      pipeline.call('XADD', this.key(stream), 'MAXLEN', '~', String(this.options.maxLen), '*', ...flatten(fields));
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, id]) => {
      if (error) throw error;
      return id as string;
    });
  }

  async ensureGroup(stream: string, group: string, from: '0' | '$' = '0'): Promise<void> {
    try {
      await this.redis.call('XGROUP', 'CREATE', this.key(stream), group, from, 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async readGroup(stream: string, group: string, consumer: string, options: GroupReadOptions): Promise<StreamEntry[]> {
    const args = ['GROUP', group, consumer, 'COUNT', String(options.count)];
    if (!options.pending && options.blockMs > 0) args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', this.key(stream), options.pending ? '0' : '>');
    const client = options.pending || options.blockMs === 0 ? this.redis : this.blockingClient(`group:${stream}:${group}:${consumer}`);
    const reply = (await client.call('XREADGROUP', ...args)) as [string, RawEntry[]][] | null;
    return toEntries(reply?.[0]?.[1]);
  }

  async ack(stream: string, group: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.call('XACK', this.key(stream), group, ...ids);
  }

  async claimStale(stream: string, group: string, consumer: string, options: ClaimOptions): Promise<ClaimResult> {
    const key = this.key(stream);
    const deadLettered: StreamEntry[] = [];
    // Entries delivered too often first: they must not be handed out once more.
    const pending = (await this.redis.call(
      'XPENDING', key, group, 'IDLE', String(options.minIdleMs), '-', '+', String(options.count),
    )) as [string, string, number, number][];
    const exhausted = pending.filter(([, , , deliveries]) => deliveries >= options.maxDeliveries).map(([id]) => id);
    for (const id of exhausted) {
      const [entry] = toEntries((await this.redis.call('XRANGE', key, id, id)) as RawEntry[]);
      const tx = this.redis.multi();
      if (entry) {
        const deliveries = pending.find(([pid]) => pid === id)?.[3] ?? options.maxDeliveries;
        tx.call(
          'XADD', this.key(deadLetterStream(stream)), 'MAXLEN', '~', String(this.options.maxLen), '*',
          ...flatten({ ...entry.fields, deadLetterOf: id, deadLetterGroup: group, deliveries: String(deliveries) }),
        );
        deadLettered.push(entry);
      }
      tx.call('XACK', key, group, id);
      await tx.exec();
    }
    const reply = (await this.redis.call(
      'XAUTOCLAIM', key, group, consumer, String(options.minIdleMs), '0-0', 'COUNT', String(options.count),
    )) as [string, RawEntry[], string[]?];
    // Ids of entries trimmed from the stream while pending (Redis 7 drops them from the PEL itself).
    return { claimed: toEntries(reply[1]), deadLettered };
  }

  async read(stream: string, afterId: string, options: { count: number; blockMs: number }): Promise<StreamEntry[]> {
    const args = ['COUNT', String(options.count)];
    if (options.blockMs > 0) args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', this.key(stream), afterId);
    const client = options.blockMs > 0 ? this.blockingClient(`read:${stream}`) : this.redis;
    const reply = (await client.call('XREAD', ...args)) as [string, RawEntry[]][] | null;
    return toEntries(reply?.[0]?.[1]);
  }

  async range(stream: string, afterId: string, count: number): Promise<StreamEntry[]> {
    return toEntries((await this.redis.call('XRANGE', this.key(stream), `(${afterId}`, '+', 'COUNT', String(count))) as RawEntry[]);
  }

  async lastId(stream: string): Promise<string> {
    const [entry] = (await this.redis.call('XREVRANGE', this.key(stream), '+', '-', 'COUNT', '1')) as RawEntry[];
    return entry?.[0] ?? '0-0';
  }

  async firstId(stream: string): Promise<string | null> {
    const [entry] = (await this.redis.call('XRANGE', this.key(stream), '-', '+', 'COUNT', '1')) as RawEntry[];
    return entry?.[0] ?? null;
  }

  async length(stream: string): Promise<number> {
    return Number(await this.redis.call('XLEN', this.key(stream)));
  }

  async groupStats(stream: string, group: string): Promise<GroupStats> {
    let groups: unknown[][];
    try {
      groups = (await this.redis.call('XINFO', 'GROUPS', this.key(stream))) as unknown[][];
    } catch {
      return { pending: 0, lag: null };
    }
    for (const raw of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < raw.length; i += 2) info.set(String(raw[i]), raw[i + 1]);
      if (info.get('name') !== group) continue;
      const lag = info.get('lag');
      return { pending: Number(info.get('pending') ?? 0), lag: lag === null || lag === undefined ? null : Number(lag) };
    }
    return { pending: 0, lag: null };
  }

  async close(): Promise<void> {
    for (const client of this.blocking.values()) client.disconnect();
    this.blocking.clear();
  }
}
