/**
 * An append-only log with consumer groups: Redis Streams in production, an in-process model with
 * the same semantics in the embedded mode. Both pass test/events/stream-bus.contract.test.ts.
 */
export type StreamFields = Record<string, string>;

export interface StreamEntry {
  id: string;
  fields: StreamFields;
}

export interface GroupReadOptions {
  count: number;
  /** How long to wait for new entries when there are none; 0 returns at once. Ignored for pending reads. */
  blockMs: number;
  /**
   * true: re-read this consumer's own unacknowledged entries (after a restart) instead of new ones.
   * Each such read counts as one more delivery, as in Redis.
   */
  pending?: boolean;
  /** With pending: only entries after this id, to page through the pending list. Default '0'. */
  afterId?: string;
  /** Aborting ends a blocking read at once; it then returns no entries. */
  signal?: AbortSignal;
}

export interface ReadOptions {
  count: number;
  blockMs: number;
  /** Aborting ends a blocking read at once; it then returns no entries. */
  signal?: AbortSignal;
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
  /** Entries not yet delivered to the group; null when the server cannot tell (or no such group). */
  lag: number | null;
}

export interface StreamBus {
  readonly kind: 'redis' | 'memory';
  /** Appends entries in order (one round trip), trimming the stream to about maxLen entries. */
  append(stream: string, entries: StreamFields[]): Promise<string[]>;
  /** Creates the group (and the stream) if missing; from '0' reads the whole stream, '$' only what comes next. */
  ensureGroup(stream: string, group: string, from?: '0' | '$'): Promise<void>;
  /**
   * Delivers new entries to this consumer (they stay pending until acknowledged), or with
   * `pending: true` its own pending ones again. Pending entries whose stream entry was trimmed
   * away are dropped from the pending list: there is nothing left to deliver.
   */
  readGroup(stream: string, group: string, consumer: string, options: GroupReadOptions): Promise<StreamEntry[]>;
  ack(stream: string, group: string, ids: string[]): Promise<void>;
  /**
   * Takes over entries another consumer (or this one) left unacknowledged for minIdleMs, and moves
   * those already delivered maxDeliveries times to `<stream>:dead-letter`, atomically with their ack.
   * A dead letter keeps the entry's fields and adds deadLetterOf (the entry id), deadLetterGroup
   * and deliveries. Each claim counts as one more delivery.
   */
  claimStale(stream: string, group: string, consumer: string, options: ClaimOptions): Promise<ClaimResult>;
  /** Reads entries after `afterId` without a group (fan-out: every reader sees every entry). */
  read(stream: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]>;
  /** Entries after `afterId` (exclusive), oldest first. */
  range(stream: string, afterId: string, count: number): Promise<StreamEntry[]>;
  /** The id of the newest entry, or '0-0' for an empty stream. */
  lastId(stream: string): Promise<string>;
  /** The id of the oldest entry still kept, or null for an empty stream. */
  firstId(stream: string): Promise<string | null>;
  length(stream: string): Promise<number>;
  groupStats(stream: string, group: string): Promise<GroupStats>;
  /** Ends blocking reads in flight; further blocking reads fail. */
  close(): Promise<void>;
}

export const deadLetterStream = (stream: string): string => `${stream}:dead-letter`;

/** Compares stream ids ("ms-seq"; a bare "ms" counts as "ms-0"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am === bm ? as - bs : am - bm;
}

/** The fields a dead letter carries besides the entry's own. */
export function deadLetterFields(entry: StreamEntry, group: string, deliveries: number): StreamFields {
  return { ...entry.fields, deadLetterOf: entry.id, deadLetterGroup: group, deliveries: String(deliveries) };
}
