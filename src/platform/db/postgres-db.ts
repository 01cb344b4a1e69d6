import postgres from 'postgres';
import type { Db, Queryable, Row } from './db.js';

type Sql = postgres.Sql<Record<string, never>>;

function queryable(sql: Sql | postgres.TransactionSql): Queryable {
  return {
    async query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const rows = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
      return rows as unknown as T[];
    },
    async exec(script: string): Promise<void> {
      await sql.unsafe(script);
    },
  };
}

/** Postgres through postgres.js with a connection pool. */
export function createPostgresDb(url: string, options: { max: number }): Db {
  const sql = postgres(url, {
    max: options.max,
    onnotice: () => {},
    connection: { application_name: 'wahub' },
    // int8 (counts, bigserial ids) as number: our values stay far below 2^53.
    types: {
      int8: { to: 20, from: [20], serialize: (v: unknown) => String(v), parse: (v: string) => Number(v) },
      // As PGlite does: a string for a json/jsonb parameter is JSON text, anything else is encoded.
      // (postgres.js alone would encode a string again, storing a JSON string instead.)
      json: {
        to: 3802,
        from: [114, 3802],
        serialize: (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)),
        parse: (v: string) => JSON.parse(v) as unknown,
      },
    },
  }) as unknown as Sql;
  const base = queryable(sql);
  return {
    kind: 'postgres',
    ...base,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await sql.begin((tx) => fn(queryable(tx)))) as T;
    },
    async ping() {
      await sql.unsafe('select 1');
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
