import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  deadLetterStream,
  type ClaimOptions,
  type ClaimResult,
  type GroupReadOptions,
  type GroupStats,
  type ReadOptions,
  type StreamBus,
  type StreamEntry,
  type StreamFields,
} from './stream-bus.js';

type RawEntry = [id: string, fields: string[] | null];

function toFields(raw: string[] | null): StreamFields {
  const fields: StreamFields = {};
  if (!raw) return fields;
  for (let i = 0; i + 1 < raw.length; i += 2) fields[String(raw[i])] = String(raw[i + 1]);
  return fields;
}

function toEntries(raw: RawEntry[]): StreamEntry[] {
  return raw.filter(([, f]) => f !== null).map(([id, f]) => ({ id, fields: toFields(f) }));
}

/**
 * The entries of an XREAD / XREADGROUP reply for one stream. ioredis 6 speaks RESP3 by default and
 * `call()` applies no reply transformer, so the stream map arrives as a flat `[key, entries]`
 * array; RESP2 gives `[[key, entries]]`, and replyMapping "resp3" an object `{ key: entries }`.
 */
function streamReadEntries(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return ((reply[0] as unknown[])[1] as RawEntry[] | undefined) ?? [];
    return (reply[1] as RawEntry[] | undefined) ?? [];
  }
  if (typeof reply === 'object') return (Object.values(reply)[0] as RawEntry[] | undefined) ?? [];
  return [];
}

/** A map reply (XINFO) as a Map, whether it came as a flat array or an object. */
function toRecord(raw: unknown): Map<string, unknown> {
  const record = new Map<string, unknown>();
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) record.set(String(raw[i]), raw[i + 1]);
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) record.set(k, v);
  }
  return record;
}

function flatten(fields: StreamFields): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) out.push(k, v);
  return out;
}

/**
 * Claims stale entries in one atomic step: reads the idle part of the pending list, moves entries
 * delivered maxDeliveries times to the dead-letter stream and acknowledges them, drops entries
 * trimmed away while pending, and XCLAIMs the rest. Doing it server-side means two consumers
 * claiming at once cannot both dead-letter (or both take) the same entry.
 * KEYS: stream, dead-letter stream. ARGV: group, consumer, minIdleMs, count, maxDeliveries, maxLen.
 * Returns { claimed entries, { id, fields, deliveries } of each dead letter }.
 */
const CLAIM_SCRIPT = `
local stream, dead = KEYS[1], KEYS[2]
local group, consumer, minIdle, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxDeliveries, maxLen = tonumber(ARGV[5]), ARGV[6]
local pending = redis.call('XPENDING', stream, group, 'IDLE', minIdle, '-', '+', count)
local take, drop, letters = {}, {}, {}
for _, p in ipairs(pending) do
  local id, deliveries = p[1], p[4]
  local entry = redis.call('XRANGE', stream, id, id)[1]
  if not entry then
    drop[#drop + 1] = id
  elseif deliveries >= maxDeliveries then
    local args = { dead, 'MAXLEN', '~', maxLen, '*' }
    for _, v in ipairs(entry[2]) do args[#args + 1] = v end
    args[#args + 1] = 'deadLetterOf'; args[#args + 1] = id
    args[#args + 1] = 'deadLetterGroup'; args[#args + 1] = group
    args[#args + 1] = 'deliveries'; args[#args + 1] = tostring(deliveries)
    redis.call('XADD', unpack(args))
    letters[#letters + 1] = { id, entry[2], deliveries }
    drop[#drop + 1] = id
  else
    take[#take + 1] = id
  end
end
if #drop > 0 then redis.call('XACK', stream, group, unpack(drop)) end
local claimed = {}
if #take > 0 then claimed = redis.call('XCLAIM', stream, group, consumer, minIdle, unpack(take)) end
return { claimed, letters }
`;
const CLAIM_SCRIPT_SHA = createHash('sha1').update(CLAIM_SCRIPT).digest('hex');

const BLOCKING_CLIENT_OPTIONS = { enableAutoPipelining: false, maxRetriesPerRequest: null, connectionName: 'wahub:stream-blocking' };

/**
 * Redis Streams. Blocking reads each get a connection of their own from a small pool, so they never
 * stall other commands (or each other), and aborting one just disconnects its connection.
 */
export class RedisStreamBus implements StreamBus {
  readonly kind = 'redis' as const;
  private readonly idle: Redis[] = [];
  private readonly busy = new Set<Redis>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: { keyPrefix: string; maxLen: number },
  ) {}

  private key(stream: string): string {
    return this.options.keyPrefix + stream;
  }

  /** Runs a blocking command on a pooled connection; an abort or close() ends it with a null reply. */
  private async blockingCall(signal: AbortSignal | undefined, command: string, args: string[]): Promise<unknown> {
    if (this.closed) throw new Error('stream bus closed');
    if (signal?.aborted) return null;
    const client = this.idle.pop() ?? this.redis.duplicate(BLOCKING_CLIENT_OPTIONS);
    this.busy.add(client);
    // Disconnecting is the only way to end a BLOCK early; entries Redis delivered in that moment
    // stay in this consumer's pending list and come back through a pending read or a claim.
    const abort = () => client.disconnect();
    signal?.addEventListener('abort', abort, { once: true });
    let reusable = true;
    try {
      return await client.call(command, ...args);
    } catch (error) {
      reusable = false;
      if (signal?.aborted || this.closed) return null;
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.busy.delete(client);
      if (reusable && !this.closed && !signal?.aborted && client.status === 'ready') this.idle.push(client);
      else client.disconnect();
    }
  }

  async append(stream: string, entries: StreamFields[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const maxLen = String(this.options.maxLen);
    for (const fields of entries) pipeline.call('XADD', this.key(stream), 'MAXLEN', '~', maxLen, '*', ...flatten(fields));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, id]) => {
      if (error) throw error;
      return String(id);
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
    const key = this.key(stream);
    if (options.pending) return this.readOwnPending(key, group, consumer, options.count, options.afterId ?? '0');
    const args = ['GROUP', group, consumer, 'COUNT', String(options.count)];
    if (options.blockMs > 0) args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', key, '>');
    const reply =
      options.blockMs > 0
        ? await this.blockingCall(options.signal, 'XREADGROUP', args)
        : await this.redis.call('XREADGROUP', ...args);
    return toEntries(streamReadEntries(reply));
  }

  /** Pages through this consumer's pending list; entries trimmed away come back without fields and are dropped. */
  private async readOwnPending(key: string, group: string, consumer: string, count: number, afterId: string): Promise<StreamEntry[]> {
    let cursor = afterId;
    for (;;) {
      const raw = streamReadEntries(
        await this.redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count), 'STREAMS', key, cursor),
      );
      const gone = raw.filter(([, f]) => f === null).map(([id]) => id);
      if (gone.length > 0) await this.redis.call('XACK', key, group, ...gone);
      const entries = toEntries(raw);
      if (entries.length > 0 || raw.length < count) return entries;
      cursor = raw.at(-1)![0];
    }
  }

  async ack(stream: string, group: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.call('XACK', this.key(stream), group, ...ids);
  }

  async claimStale(stream: string, group: string, consumer: string, options: ClaimOptions): Promise<ClaimResult> {
    const keys = [this.key(stream), this.key(deadLetterStream(stream))];
    const args = [
      group,
      consumer,
      String(options.minIdleMs),
      String(options.count),
      String(options.maxDeliveries),
      String(this.options.maxLen),
    ];
    let reply: unknown;
    try {
      reply = await this.redis.call('EVALSHA', CLAIM_SCRIPT_SHA, '2', ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      reply = await this.redis.call('EVAL', CLAIM_SCRIPT, '2', ...keys, ...args);
    }
    const [claimed = [], letters = []] = reply as [RawEntry[]?, [string, string[], number][]?];
    return {
      claimed: toEntries(claimed),
      deadLettered: letters.map(([id, fields]) => ({ id, fields: toFields(fields) })),
    };
  }

  async read(stream: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]> {
    const args = ['COUNT', String(options.count)];
    if (options.blockMs > 0) args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', this.key(stream), afterId);
    const reply =
      options.blockMs > 0 ? await this.blockingCall(options.signal, 'XREAD', args) : await this.redis.call('XREAD', ...args);
    return toEntries(streamReadEntries(reply));
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
    let groups: unknown[];
    try {
      groups = (await this.redis.call('XINFO', 'GROUPS', this.key(stream))) as unknown[];
    } catch (error) {
      if (String((error as Error).message).includes('no such key')) return { pending: 0, lag: null };
      throw error;
    }
    for (const raw of groups) {
      const info = toRecord(raw);
      if (String(info.get('name')) !== group) continue;
      // 'lag' exists from Redis 7 and is nil when Redis cannot tell (after deletions in the range).
      const lag = info.get('lag');
      return { pending: Number(info.get('pending') ?? 0), lag: lag === null || lag === undefined ? null : Number(lag) };
    }
    return { pending: 0, lag: null };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of [...this.idle, ...this.busy]) client.disconnect();
    this.idle.length = 0;
    this.busy.clear();
  }
}
