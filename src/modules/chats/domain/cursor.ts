import { DomainError } from '../../../shared/errors.js';

/**
 * Opaque keyset cursors: the sort key of the last item of a page, as base64url JSON. Clients
 * must not build them; a cursor that does not decode to the expected shape is a 400.
 */
export type CursorValue = string | number;

export function encodeCursor(key: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

const invalidCursor = () => new DomainError('invalid', 'invalid_cursor', 'The cursor is malformed: pass back a nextCursor as it was given');

/** Decodes a cursor whose parts have the given types ('string' | 'number'); throws invalid_cursor. */
export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'number' ? number : string } {
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(value) || value.length !== shape.length) throw invalidCursor();
  shape.forEach((type, i) => {
    const part = value[i];
    if (type === 'number' ? !Number.isSafeInteger(part) : typeof part !== 'string') throw invalidCursor();
  });
  return value as { [K in keyof T]: T[K] extends 'number' ? number : string };
}

/** limit + 1 rows were asked for: the page, and the cursor of its last item when there are more. */
export function pageOf<R, I>(rows: R[], limit: number, toItem: (row: R) => I, keyOf: (row: R) => readonly CursorValue[]): { items: I[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { items: page.map(toItem), nextCursor: more ? encodeCursor(keyOf(page[page.length - 1]!)) : null };
}
