import { Redis } from 'ioredis';

export type { Redis };

/** A client that fails fast instead of queueing commands for ever while Redis is away. */
export function createRedis(url: string, name = 'wahub'): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    lazyConnect: false,
  });
}
