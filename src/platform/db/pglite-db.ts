import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, Row } from './db.js';

function queryable(pg: PGlite | Transaction): Queryable {
  return {
    async query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await pg.query<T>(text, params as unknown[]);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await pg.exec(script);
    },
  };
}

/**
 * Embedded Postgres (PGlite, WebAssembly) persisted under dataDir, or in memory when dataDir is
 * undefined. It has a single connection: PGlite queues every query behind an open transaction,
 * which gives the same isolation a pool would, one writer at a time.
 */
export async function createPgliteDb(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  const base = queryable(pg);
  return {
    kind: 'pglite',
    ...base,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => fn(queryable(tx)));
    },
    async ping() {
      await pg.query('select 1');
    },
    async close() {
      await pg.close();
    },
  };
}
