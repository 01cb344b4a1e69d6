/**
 * An append-only log with consumer groups: Redis Streams in production, an in-process model with
 * the same semantics in the embedded mode. Both pass test/contract/stream-bus.contract.ts.
 */
export type StreamFields = Record<string, string>;

export interface StreamEntry {
  id: string;
  fields: StreamFields;
}

export interface GroupReadOptions {
  count: number;
  /** How long to wait for new entries when there are none; 0 returns at once. */
  blockMs: number;
  /** true: re-read this consumer's own unacknowledged entries (after a restart) instead of new ones. */
  pending?: boolean;
}

export interface ClaimOptions {
  minIdleMs: number;
  count: number;
  /** Entries delivered this many times already go to the dead-letter stream instead. */
  maxDeliveries: number;
}

export interface ClaimResult {
  claimed: StreamEntry[];
  deadLettered: StreamEntry[];
}

export interface GroupStats {
  pending: number;
  /** Entries not yet delivered to the group; null when the server cannot tell. */
  lag: number | null;
}

export interface StreamBus {
  readonly kind: 'redis' | 'memory';
  /** Appends entries in order (one round trip), trimming the stream to about maxLen entries. */
  append(stream: string, entries: StreamFields[]): Promise<string[]>;
  /** Creates the group if missing; from '0' reads the whole stream, '$' only what comes next. */
  ensureGroup(stream: string, group: string, from?: '0' | '$'): Promise<void>;
  readGroup(stream: string, group: string, consumer: string, options: GroupReadOptions): Promise<StreamEntry[]>;
  ack(stream: string, group: string, ids: string[]): Promise<void>;
  /**
   * Takes over entries another consumer (or this one) left unacknowledged for minIdleMs, and moves
   * those already delivered maxDeliveries times to `<stream>:dead-letter`, atomically with their ack.
   */
  claimStale(stream: string, group: string, consumer: string, options: ClaimOptions): Promise<ClaimResult>;
  /** Reads entries after `afterId` without a group (fan-out: every reader sees every entry). */
  read(stream: string, afterId: string, options: { count: number; blockMs: number }): Promise<StreamEntry[]>;
  /** Entries after `afterId` (exclusive), oldest first. */
  range(stream: string, afterId: string, count: number): Promise<StreamEntry[]>;
  /** The id of the newest entry, or '0-0' for an empty stream. */
  lastId(stream: string): Promise<string>;
  /** The id of the oldest entry still kept, or null for an empty stream. */
  firstId(stream: string): Promise<string | null>;
  length(stream: string): Promise<number>;
  groupStats(stream: string, group: string): Promise<GroupStats>;
  close(): Promise<void>;
}

export const deadLetterStream = (stream: string): string => `${stream}:dead-letter`;

/** Compares stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am === bm ? as - bs : am - bm;
}
