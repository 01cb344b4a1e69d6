import type { Redis } from 'ioredis';
import type { RateLimiter, RateLimitState } from '../application/ports.js';

/** Counters shared by every API process: one pipelined round trip per operation. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private key(key: string): string {
    return `${this.keyPrefix}ratelimit:${key}`;
  }

  async peek(keys: string[]): Promise<RateLimitState[]> {
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.get(this.key(key)).pttl(this.key(key));
    const results = (await pipeline.exec()) ?? [];
    return keys.map((_, i) => {
      const [countError, count] = results[i * 2] ?? [];
      const [ttlError, ttl] = results[i * 2 + 1] ?? [];
      if (countError) throw countError;
      if (ttlError) throw ttlError;
      const ms = Number(ttl);
      return { count: Number(count ?? 0), resetInSeconds: ms > 0 ? Math.ceil(ms / 1000) : 0 };
    });
  }

  async hit(keys: string[], windowSeconds: number): Promise<void> {
    const pipeline = this.redis.pipeline();
    // NX: the window starts with the first hit and is not pushed back by later ones.
    for (const key of keys) pipeline.incr(this.key(key)).expire(this.key(key), windowSeconds, 'NX');
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }
}
