import type { CacheStore } from 'baileys';

export interface BoundedCacheOptions {
  /** Entries kept at most; the least recently used one goes first. */
  maxKeys: number;
  /** Lifetime of an entry in seconds (0: no expiry). */
  ttlSeconds: number;
  now?: () => number;
}

interface Entry {
  value: unknown;
  expiresAt: number;
}

/**
 * One process-wide LRU cache with a TTL, shared by every socket and split into namespaces (one per
 * session). Baileys' default caches are one NodeCache per socket, unbounded in size; with hundreds
 * of sessions in a process they add up. A namespace view is a Baileys `CacheStore` whose
 * `flushAll` only drops its own entries, so one session can never see or clear another's.
 */
export class BoundedCache {
  private readonly entries = new Map<string, Entry>();
  /** namespace → its keys in `entries`, so a namespace is dropped without scanning the whole cache. */
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(private readonly options: BoundedCacheOptions) {
    if (!Number.isInteger(options.maxKeys) || options.maxKeys < 1) throw new Error('maxKeys must be a positive integer');
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get<T>(namespace: string, key: string): T | undefined {
    const full = fullKey(namespace, key);
    const entry = this.entries.get(full);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(namespace, full);
      return undefined;
    }
    // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
    this.entries.delete(full);
    this.entries.set(full, entry);
    return entry.value as T;
  }

  set(namespace: string, key: string, value: unknown): void {
    const full = fullKey(namespace, key);
    this.entries.delete(full);
    const ttl = this.options.ttlSeconds;
    this.entries.set(full, { value, expiresAt: ttl > 0 ? this.now() + ttl * 1000 : Number.POSITIVE_INFINITY });
    let keys = this.byNamespace.get(namespace);
    if (!keys) this.byNamespace.set(namespace, (keys = new Set()));
    keys.add(full);
    while (this.entries.size > this.options.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(namespaceOf(oldest), oldest);
    }
  }

  delete(namespace: string, key: string): void {
    this.remove(namespace, fullKey(namespace, key));
  }

  /** Drops every entry of a namespace. */
  deleteNamespace(namespace: string): void {
    const keys = this.byNamespace.get(namespace);
    if (!keys) return;
    for (const full of keys) this.entries.delete(full);
    this.byNamespace.delete(namespace);
  }

  clear(): void {
    this.entries.clear();
    this.byNamespace.clear();
  }

  /**
   * A Baileys CacheStore over one namespace. Setting `null` or `undefined` deletes: Baileys'
   * cacheable key store writes null for a deleted key, and a cached null would be returned by
   * `keys.get` as if the key existed.
   */
  namespace(namespace: string): CacheStore {
    if (namespace.includes(SEPARATOR)) throw new Error('a cache namespace cannot contain the separator');
    return {
      get: <T>(key: string) => this.get<T>(namespace, key),
      set: <T>(key: string, value: T) => {
        if (value === null || value === undefined) this.delete(namespace, key);
        else this.set(namespace, key, value);
      },
      del: (key: string) => this.delete(namespace, key),
      flushAll: () => this.deleteNamespace(namespace),
    };
  }

  private remove(namespace: string, full: string): void {
    this.entries.delete(full);
    const keys = this.byNamespace.get(namespace);
    if (!keys) return;
    keys.delete(full);
    if (keys.size === 0) this.byNamespace.delete(namespace);
  }
}

// A namespace is a session id (a uuid), so it never contains the separator.
const SEPARATOR = '\u0001';
const fullKey = (namespace: string, key: string) => `${namespace}${SEPARATOR}${key}`;
const namespaceOf = (full: string) => full.slice(0, full.indexOf(SEPARATOR));
