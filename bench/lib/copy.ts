import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type postgres from 'postgres';

export type CopyValue = string | number | boolean | null;

/** One value in COPY's text format: \N for null, backslash escapes for the delimiters. */
export function copyValue(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v !== 'string') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export const copyLine = (values: readonly CopyValue[]): string => values.map(copyValue).join('\t') + '\n';

/**
 * Streams rows into `table (columns)` with COPY FROM STDIN on the given connection (a reserved
 * one, or a transaction), in chunks of lines so neither side holds everything in memory.
 */
export async function copyRows(
  sql: postgres.Sql<any> | postgres.ReservedSql<any> | postgres.TransactionSql<any>,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]>,
): Promise<void> {
  const writable = await sql.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const row of rows) {
      chunk += copyLine(row);
      if (chunk.length >= 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(chunks()), writable);
}
