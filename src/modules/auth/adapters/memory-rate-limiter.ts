import type { Clock } from '../../../platform/clock.js';
import type { RateLimiter, RateLimitState } from '../application/ports.js';

interface Window {
  count: number;
  endsAt: number;
}

/**
 * Counters in this process's memory, for the embedded mode (one process). Bounded: expired windows
 * are dropped as they are met and swept when the map is full; past maxKeys the oldest go first.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: { clock: Clock; maxKeys?: number }) {}

  get size(): number {
    return this.windows.size;
  }

  private live(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.endsAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  async peek(keys: string[]): Promise<RateLimitState[]> {
    const now = this.options.clock.now().getTime();
    return keys.map((key) => {
      const window = this.live(key, now);
      return window ? { count: window.count, resetInSeconds: Math.ceil((window.endsAt - now) / 1000) } : { count: 0, resetInSeconds: 0 };
    });
  }

  async hit(keys: string[], windowSeconds: number): Promise<void> {
    const now = this.options.clock.now().getTime();
    for (const key of keys) {
      const window = this.live(key, now);
      if (window) {
        window.count += 1;
        continue;
      }
      this.makeRoom(now);
      this.windows.set(key, { count: 1, endsAt: now + windowSeconds * 1000 });
    }
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private makeRoom(now: number): void {
    const max = this.options.maxKeys ?? 100_000;
    if (this.windows.size < max) return;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    // Still full: forget the oldest windows (Map keeps insertion order) rather than grow without bound.
    for (const key of this.windows.keys()) {
      if (this.windows.size < max) break;
      this.windows.delete(key);
    }
  }
}
