import {
  compareStreamIds,
  deadLetterFields,
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

interface PendingEntry {
  consumer: string;
  deliveries: number;
  deliveredAt: number;
}

interface Group {
  lastDeliveredId: string;
  /** The pending entries list, by entry id. */
  pending: Map<string, PendingEntry>;
}

interface Stream {
  /** Sorted by id, so lookups are binary searches. */
  entries: StreamEntry[];
  lastMs: number;
  lastSeq: number;
  groups: Map<string, Group>;
  /** Blocked readers of this stream, woken by an append. */
  waiters: Set<() => void>;
}

const copy = (entry: StreamEntry): StreamEntry => ({ id: entry.id, fields: { ...entry.fields } });

/**
 * The embedded stand-in for Redis Streams: the same ids, consumer groups, pending lists, claims,
 * delivery counts and dead letters, in this process's memory. Entries live as long as the process.
 */
export class MemoryStreamBus implements StreamBus {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, Stream>();
  private closed = false;
  /** Like MAXLEN ~: trim in chunks (amortised) rather than one entry per append. */
  private readonly trimSlack: number;

  constructor(private readonly options: { maxLen: number; now?: () => number }) {
    this.trimSlack = Math.min(1000, Math.max(1, Math.floor(options.maxLen / 10)));
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private stream(name: string): Stream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = { entries: [], lastMs: 0, lastSeq: 0, groups: new Map(), waiters: new Set() };
      this.streams.set(name, stream);
    }
    return stream;
  }

  private group(stream: string, group: string): Group {
    const found = this.streams.get(stream)?.groups.get(group);
    if (!found) throw new Error(`NOGROUP No such key '${stream}' or consumer group '${group}'`);
    return found;
  }

  /** Index of the first entry with an id greater than `afterId`. */
  private indexAfter(stream: Stream, afterId: string): number {
    let lo = 0;
    let hi = stream.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareStreamIds(stream.entries[mid]!.id, afterId) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private find(stream: Stream, id: string): StreamEntry | undefined {
    const i = this.indexAfter(stream, id) - 1;
    const entry = stream.entries[i];
    return entry && compareStreamIds(entry.id, id) === 0 ? entry : undefined;
  }

  private after(stream: Stream | undefined, afterId: string, count: number): StreamEntry[] {
    if (!stream) return [];
    const start = this.indexAfter(stream, afterId);
    return stream.entries.slice(start, start + count).map(copy);
  }

  /** Resolves on the next append to this stream, after blockMs, on abort, or on close. */
  private waitForAppend(stream: Stream, blockMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, blockMs);
      stream.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Runs `take` until it returns entries or blockMs has passed (appends to the stream wake it up). */
  private async blocking(
    stream: Stream,
    options: { blockMs: number; signal?: AbortSignal },
    take: () => StreamEntry[],
  ): Promise<StreamEntry[]> {
    let entries = take();
    if (entries.length > 0 || options.blockMs <= 0) return entries;
    if (this.closed) throw new Error('stream bus closed');
    const deadline = Date.now() + options.blockMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted || this.closed) return [];
      await this.waitForAppend(stream, left, options.signal);
      if (options.signal?.aborted) return [];
      entries = take();
      if (entries.length > 0) return entries;
    }
  }

  async append(name: string, entries: StreamFields[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const stream = this.stream(name);
    const ids = entries.map((fields) => {
      // Redis ids: milliseconds, then a sequence within the millisecond; never going backwards.
      const ms = this.now();
      if (ms > stream.lastMs) {
        stream.lastMs = ms;
        stream.lastSeq = 0;
      } else {
        stream.lastSeq += 1;
      }
      const id = `${stream.lastMs}-${stream.lastSeq}`;
      stream.entries.push({ id, fields: { ...fields } });
      return id;
    });
    if (stream.entries.length > this.options.maxLen + this.trimSlack) {
      stream.entries.splice(0, stream.entries.length - this.options.maxLen);
    }
    const waiters = [...stream.waiters];
    stream.waiters.clear();
    for (const wake of waiters) wake();
    return ids;
  }

  async ensureGroup(name: string, group: string, from: '0' | '$' = '0'): Promise<void> {
    const stream = this.stream(name);
    if (stream.groups.has(group)) return;
    const lastDeliveredId = from === '$' ? `${stream.lastMs}-${stream.lastSeq}` : '0-0';
    stream.groups.set(group, { lastDeliveredId, pending: new Map() });
  }

  async readGroup(name: string, groupName: string, consumer: string, options: GroupReadOptions): Promise<StreamEntry[]> {
    const group = this.group(name, groupName);
    const stream = this.stream(name);
    if (options.pending) {
      const afterId = options.afterId ?? '0';
      const ids = [...group.pending.entries()]
        .filter(([id, p]) => p.consumer === consumer && compareStreamIds(id, afterId) > 0)
        .map(([id]) => id)
        .sort(compareStreamIds);
      const now = this.now();
      const out: StreamEntry[] = [];
      for (const id of ids) {
        if (out.length >= options.count) break;
        const entry = this.find(stream, id);
        if (!entry) {
          group.pending.delete(id); // trimmed while pending: nothing left to deliver
          continue;
        }
        const p = group.pending.get(id)!;
        p.deliveries += 1;
        p.deliveredAt = now;
        out.push(copy(entry));
      }
      return out;
    }
    const entries = await this.blocking(stream, options, () => this.after(stream, group.lastDeliveredId, options.count));
    const now = this.now();
    for (const entry of entries) group.pending.set(entry.id, { consumer, deliveries: 1, deliveredAt: now });
    if (entries.length > 0) group.lastDeliveredId = entries.at(-1)!.id;
    return entries;
  }

  async ack(name: string, groupName: string, ids: string[]): Promise<void> {
    // Like XACK: no error for an unknown stream or group.
    const group = this.streams.get(name)?.groups.get(groupName);
    if (!group) return;
    for (const id of ids) group.pending.delete(id);
  }

  async claimStale(name: string, groupName: string, consumer: string, options: ClaimOptions): Promise<ClaimResult> {
    const group = this.group(name, groupName);
    const stream = this.stream(name);
    const now = this.now();
    const stale = [...group.pending.entries()]
      .filter(([, p]) => now - p.deliveredAt >= options.minIdleMs)
      .sort(([a], [b]) => compareStreamIds(a, b))
      .slice(0, options.count);

    const claimed: StreamEntry[] = [];
    const deadLettered: StreamEntry[] = [];
    const letters: StreamFields[] = [];
    for (const [id, p] of stale) {
      const entry = this.find(stream, id);
      if (!entry) {
        group.pending.delete(id); // trimmed while pending
      } else if (p.deliveries >= options.maxDeliveries) {
        letters.push(deadLetterFields(entry, groupName, p.deliveries));
        deadLettered.push(copy(entry));
        group.pending.delete(id);
      } else {
        p.consumer = consumer;
        p.deliveries += 1;
        p.deliveredAt = now;
        claimed.push(copy(entry));
      }
    }
    await this.append(deadLetterStream(name), letters);
    return { claimed, deadLettered };
  }

  async read(name: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]> {
    const stream = this.stream(name);
    return this.blocking(stream, options, () => this.after(stream, afterId, options.count));
  }

  async range(name: string, afterId: string, count: number): Promise<StreamEntry[]> {
    return this.after(this.streams.get(name), afterId, count);
  }

  async lastId(name: string): Promise<string> {
    return this.streams.get(name)?.entries.at(-1)?.id ?? '0-0';
  }

  async firstId(name: string): Promise<string | null> {
    return this.streams.get(name)?.entries[0]?.id ?? null;
  }

  async length(name: string): Promise<number> {
    return this.streams.get(name)?.entries.length ?? 0;
  }

  async groupStats(name: string, groupName: string): Promise<GroupStats> {
    const stream = this.streams.get(name);
    const group = stream?.groups.get(groupName);
    if (!stream || !group) return { pending: 0, lag: null };
    // A binary search, not a copy of the stream: this runs on every metrics scrape.
    return { pending: group.pending.size, lag: stream.entries.length - this.indexAfter(stream, group.lastDeliveredId) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams.values()) {
      const waiters = [...stream.waiters];
      stream.waiters.clear();
      for (const wake of waiters) wake();
    }
  }
}
