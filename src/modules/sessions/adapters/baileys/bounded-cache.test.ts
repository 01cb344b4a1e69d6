import { describe, expect, it } from 'vitest';
import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache', () => {
  it('evicts the least recently used entry past maxKeys, across namespaces', () => {
    const cache = new BoundedCache({ maxKeys: 3, ttlSeconds: 0 });
    cache.set('s1', 'a', 1);
    cache.set('s2', 'a', 2);
    cache.set('s1', 'b', 3);
    expect(cache.get('s1', 'a')).toBe(1); // now most recently used
    cache.set('s2', 'b', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('s2', 'a')).toBeUndefined();
    expect(cache.get('s1', 'a')).toBe(1);
    expect(cache.get('s1', 'b')).toBe(3);
    expect(cache.get('s2', 'b')).toBe(4);
  });

  it('expires entries after their TTL', () => {
    let now = 1_000;
    const cache = new BoundedCache({ maxKeys: 10, ttlSeconds: 5, now: () => now });
    cache.set('s', 'k', 'v');
    now += 4_999;
    expect(cache.get('s', 'k')).toBe('v');
    now += 1;
    expect(cache.get('s', 'k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('gives each namespace a CacheStore that only sees and flushes its own entries', async () => {
    const cache = new BoundedCache({ maxKeys: 10, ttlSeconds: 60 });
    const a = cache.namespace('a');
    const b = cache.namespace('b');
    a.set('session.1', 'A');
    b.set('session.1', 'B');
    expect(a.get('session.1')).toBe('A');
    expect(b.get('session.1')).toBe('B');
    await a.flushAll();
    expect(a.get('session.1')).toBeUndefined();
    expect(b.get('session.1')).toBe('B');
    b.set('session.1', null); // Baileys writes null for a deleted key
    expect(b.get('session.1')).toBeUndefined();
    b.set('x', 1);
    b.del('x');
    expect(cache.size).toBe(0);
  });
});
