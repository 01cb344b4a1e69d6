import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/modules/auth/index.js';
import { MemoryRateLimiter } from '../../src/modules/auth/adapters/memory-rate-limiter.js';
import { RedisRateLimiter } from '../../src/modules/auth/adapters/redis-rate-limiter.js';
import { createRedis, type Redis } from '../../src/platform/redis.js';
import { MODES, TEST_REDIS_URL, uniquePrefix } from '../support/services.js';

/** A clock the memory adapter reads; the Redis adapter runs on Redis's own clock (real waits). */
const clock = { at: Date.now(), now: () => new Date(clock.at) };

describe.each(MODES)('the rate limiter adapter (%s)', (mode) => {
  let limiter: RateLimiter;
  let redis: Redis | undefined;
  const elapse = async (seconds: number) => {
    if (mode === 'real') await new Promise((r) => setTimeout(r, seconds * 1000 + 100));
    else clock.at += seconds * 1000 + 100;
  };

  beforeAll(async () => {
    if (mode === 'real') {
      redis = createRedis(TEST_REDIS_URL, 'wahub-test');
      limiter = new RedisRateLimiter(redis, uniquePrefix());
    } else {
      limiter = new MemoryRateLimiter({ clock });
    }
  });
  afterAll(() => redis?.disconnect());

  it('counts hits per key in a window that starts with the first hit', async () => {
    expect(await limiter.peek(['a', 'b'])).toEqual([
      { count: 0, resetInSeconds: 0 },
      { count: 0, resetInSeconds: 0 },
    ]);
    await limiter.hit(['a', 'b'], 60);
    await limiter.hit(['a'], 60);
    const [a, b] = await limiter.peek(['a', 'b']);
    expect(a!.count).toBe(2);
    expect(b!.count).toBe(1);
    expect(a!.resetInSeconds).toBeGreaterThan(55);
    expect(a!.resetInSeconds).toBeLessThanOrEqual(60);
  });

  it('forgets a key at the end of its window, or when reset', async () => {
    await limiter.hit(['short'], 1);
    await limiter.hit(['short'], 1); // later hits do not push the window back
    expect((await limiter.peek(['short']))[0]!.count).toBe(2);
    await elapse(1);
    expect(await limiter.peek(['short'])).toEqual([{ count: 0, resetInSeconds: 0 }]);

    await limiter.hit(['gone'], 60);
    await limiter.reset('gone');
    expect((await limiter.peek(['gone']))[0]!.count).toBe(0);
  });
});

describe('MemoryRateLimiter', () => {
  it('stays bounded: expired windows are swept, then the oldest go first', async () => {
    const local = { at: 0, now: () => new Date(local.at) };
    const limiter = new MemoryRateLimiter({ clock: local, maxKeys: 100 });
    for (let i = 0; i < 100; i++) await limiter.hit([`old-${i}`], 10);
    local.at += 11_000;
    await limiter.hit(['fresh'], 10);
    expect(limiter.size).toBe(1); // the expired ones were swept
    for (let i = 0; i < 250; i++) await limiter.hit([`k-${i}`], 600);
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect((await limiter.peek(['k-249']))[0]!.count).toBe(1); // the newest are kept
    expect((await limiter.peek(['fresh']))[0]!.count).toBe(0); // the oldest went first
  });
});
