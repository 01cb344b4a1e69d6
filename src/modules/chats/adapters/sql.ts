/** Small helpers shared by the messaging SQL adapters. */

/** The tenant and session every projection row and every read is scoped to. */
export interface SessionScope {
  tenantId: string;
  sessionId: string;
}

/**
 * Rows for `jsonb_to_recordset($n::jsonb -> 'rows')`. Wrapped in an object: both drivers encode a
 * plain object parameter as JSON (an array could be taken for a Postgres array).
 */
export const rowsParam = (rows: readonly object[]): { rows: readonly object[] } => ({ rows });

// Postgres text and jsonb refuse NUL characters; WhatsApp text can carry them.
const NUL = /\u0000/g;

export const cleanText = (value: string | null | undefined): string | null => (typeof value === 'string' ? value.replace(NUL, '') : null);

/** A JSON-safe copy without NULs in any string; undefined and non-JSON values become null. */
export function cleanJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.replace(NUL, '') : typeof v === 'bigint' ? v.toString() : v));
    return text === undefined ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}

/** Unix seconds as an integer, or null. */
export const seconds = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : null);
