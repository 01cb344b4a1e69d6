import {
  compareStreamIds,
  deadLetterStream,
  type ClaimOptions,
  type ClaimResult,
  type GroupReadOptions,
  type GroupStats,
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
  pending: Map<string, PendingEntry>;
}

interface Stream {
  entries: StreamEntry[];
  lastMs: number;
  lastSeq: number;
  groups: Map<string, Group>;
}

/**
 * The embedded stand-in for Redis Streams: the same ids, consumer groups, pending lists, claims,
 * delivery counts and dead letters, in this process's memory. Entries live as long as the process.
 */
export class MemoryStreamBus implements StreamBus {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, Stream>();
  private waiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: { maxLen: number; now?: () => number }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private stream(name: string): Stream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = { entries: [], lastMs: 0, lastSeq: 0, groups: new Map() };
      this.streams.set(name, stream);
    }
    return stream;
  }

  private group(stream: string, group: string): Group {
    const found = this.stream(stream).groups.get(group);
    if (!found) throw new Error(`NOGROUP No such key '${stream}' or consumer group '${group}'`);
    return found;
  }

  private find(stream: Stream, id: string): StreamEntry | undefined {
    // Entries are sorted by id: binary search keeps claims cheap on long streams.
    let lo = 0;
    let hi = stream.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const cmp = compareStreamIds(stream.entries[mid]!.id, id);
      if (cmp === 0) return stream.entries[mid];
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private after(stream: Stream, afterId: string, count: number): StreamEntry[] {
    let lo = 0;
    let hi = stream.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareStreamIds(stream.entries[mid]!.id, afterId) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return stream.entries.slice(lo, lo + count).map((e) => ({ id: e.id, fields: { ...e.fields } }));
  }

  private async waitForAppend(blockMs: number): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, blockMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  async append(name: string, entries: StreamFields[]): Promise<string[]> {
    const stream = this.stream(name);
    const ids = entries.map((fields) => {
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
    const excess = stream.entries.length - this.options.maxLen;
    if (excess > 0) stream.entries.splice(0, excess);
    if (ids.length > 0) this.wake();
    return ids;
  }

  async ensureGroup(stream: string, group: string, from: '0' | '$' = '0'): Promise<void> {
    const s = this.stream(stream);
    if (s.groups.has(group)) return;
    const lastDeliveredId = from === '$' ? (s.entries.at(-1)?.id ?? `${s.lastMs}-${s.lastSeq}`) : '0-0';
    s.groups.set(group, { lastDeliveredId, pending: new Map() });
  }

  async readGroup(stream: string, groupName: string, consumer: string, options: GroupReadOptions): Promise<StreamEntry[]> {
    const s = this.stream(stream);
    const group = this.group(stream, groupName);
    if (options.pending) {
      const ids = [...group.pending.entries()]
        .filter(([, p]) => p.consumer === consumer)
        .map(([id]) => id)
        .sort(compareStreamIds)
        .slice(0, options.count);
      return ids.flatMap((id) => {
        const entry = this.find(s, id);
        return entry ? [{ id, fields: { ...entry.fields } }] : [];
      });
    }
    let entries = this.after(s, group.lastDeliveredId, options.count);
    if (entries.length === 0 && options.blockMs > 0) {
      await this.waitForAppend(options.blockMs);
      entries = this.after(s, group.lastDeliveredId, options.count);
    }
    const now = this.now();
    for (const entry of entries) group.pending.set(entry.id, { consumer, deliveries: 1, deliveredAt: now });
    if (entries.length > 0) group.lastDeliveredId = entries.at(-1)!.id;
    return entries;
  }

  async ack(stream: string, groupName: string, ids: string[]): Promise<void> {
    const group = this.group(stream, groupName);
    for (const id of ids) group.pending.delete(id);
  }

  async claimStale(stream: string, groupName: string, consumer: string, options: ClaimOptions): Promise<ClaimResult> {
    const s = this.stream(stream);
    const group = this.group(stream, groupName);
    const now = this.now();
    const stale = () =>
      [...group.pending.entries()]
        .filter(([, p]) => now - p.deliveredAt >= options.minIdleMs)
        .sort(([a], [b]) => compareStreamIds(a, b))
        .slice(0, options.count);

    const deadLettered: StreamEntry[] = [];
    for (const [id, p] of stale()) {
      if (p.deliveries < options.maxDeliveries) continue;
      const entry = this.find(s, id);
      if (entry) {
        await this.append(deadLetterStream(stream), [
          { ...entry.fields, deadLetterOf: id, deadLetterGroup: groupName, deliveries: String(p.deliveries) },
        ]);
        deadLettered.push({ id, fields: { ...entry.fields } });
      }
      group.pending.delete(id);
    }

    const claimed: StreamEntry[] = [];
    for (const [id, p] of stale()) {
      const entry = this.find(s, id);
      if (!entry) {
        group.pending.delete(id);
        continue;
      }
      p.consumer = consumer;
      p.deliveries += 1;
      p.deliveredAt = now;
      claimed.push({ id, fields: { ...entry.fields } });
    }
    return { claimed, deadLettered };
  }

  async read(stream: string, afterId: string, options: { count: number; blockMs: number }): Promise<StreamEntry[]> {
    const s = this.stream(stream);
    let entries = this.after(s, afterId, options.count);
    if (entries.length === 0 && options.blockMs > 0) {
      await this.waitForAppend(options.blockMs);
      entries = this.after(s, afterId, options.count);
    }
    return entries;
  }

  async range(stream: string, afterId: string, count: number): Promise<StreamEntry[]> {
    return this.after(this.stream(stream), afterId, count);
  }

  async lastId(stream: string): Promise<string> {
    return this.stream(stream).entries.at(-1)?.id ?? '0-0';
  }

  async firstId(stream: string): Promise<string | null> {
    return this.stream(stream).entries[0]?.id ?? null;
  }

  async length(stream: string): Promise<number> {
    return this.stream(stream).entries.length;
  }

  async groupStats(stream: string, groupName: string): Promise<GroupStats> {
    const group = this.stream(stream).groups.get(groupName);
    if (!group) return { pending: 0, lag: null };
    return { pending: group.pending.size, lag: this.after(this.stream(stream), group.lastDeliveredId, Number.MAX_SAFE_INTEGER).length };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }
}
