export type Row = Record<string, unknown>;

/** Something SQL can run against: the database itself or an open transaction. */
export interface Queryable {
  /**
   * One statement with `$n` parameters. A json/jsonb parameter takes an object or array (encoded),
   * or a string of JSON text (both adapters alike); int8 comes back as number.
   */
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Postgres error codes the application reacts to. */
export const PG_UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string; constraint_name?: string } | null;
  if (!e || e.code !== PG_UNIQUE_VIOLATION) return false;
  return constraint === undefined || e.constraint === constraint || e.constraint_name === constraint;
}
