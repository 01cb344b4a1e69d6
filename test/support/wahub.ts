import { startWahub, type Wahub } from '../../src/app/wahub.js';
import { createTestDatabase, tempDir, testConfig, TEST_REDIS_URL, uniquePrefix, type Mode } from './services.js';

export interface TestWahub extends Wahub {
  url: string;
  mode: Mode;
  /** fetch against the running API with JSON in and out. */
  request(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<Response>;
}

/**
 * Starts a whole wahub on a random port. 'real': its own Postgres database and Redis key prefix;
 * 'embedded': PGlite in a temporary folder and the in-process stream.
 */
export async function startTestWahub(
  mode: Mode,
  env: Record<string, string> = {},
  /** Several processes of one deployment: pass the same database URL and Redis prefix to each. */
  shared: { databaseUrl?: string; redisKeyPrefix?: string } = {},
): Promise<TestWahub> {
  const data = tempDir();
  const database = mode === 'real' && !shared.databaseUrl ? await createTestDatabase() : undefined;
  const config = testConfig({
    DATA_DIR: data.dir,
    DATABASE_URL: mode === 'real' ? (shared.databaseUrl ?? database?.url) : undefined,
    REDIS_URL: mode === 'real' ? TEST_REDIS_URL : undefined,
    REDIS_KEY_PREFIX: shared.redisKeyPrefix ?? uniquePrefix(),
    ...env,
  });
  const wahub = await startWahub(config);
  const url = wahub.url ?? '';
  return {
    ...wahub,
    url,
    mode,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-type'] ??= 'application/json';
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      return fetch(url + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
      });
    },
    async stop() {
      await wahub.stop();
      await database?.drop();
      data.remove();
    },
  };
}
