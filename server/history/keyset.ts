// Cursors for history pages: the sort column's value and the id of a row
// (the tie-breaker), opaque to the client (base64url of JSON). A page after
// a cursor reads the rows past it in the sort order, a page before it the
// rows ahead of it (read in reverse, then turned round): one index range,
// however deep, instead of OFFSET's count of every row skipped.
import type { Knex } from 'knex';

export interface Cursor {
  value: string | number;
  id: number;
}

export const numericSorts: ReadonlySet<string> = new Set(['created_at', 'updated_at']);

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.value, c.id])).toString('base64url');
}

/** The cursor in a query string, or null when it is not one this server made. */
export function decodeCursor(text: string): Cursor | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return null;
  const [value, id] = parsed as unknown[];
  if (!Number.isSafeInteger(id) || (id as number) < 0) return null;
  if (typeof value === 'number' ? !Number.isSafeInteger(value) : typeof value !== 'string' || value.length > 300) return null;
  return { value: value as string | number, id: id as number };
}

/**
 * Rows strictly past `cursor` going in `order` on `column` then id: written as
 * `col ≥ v AND (col > v OR id > i)` (for asc) so both engines use the
 * column's index for the range.
 */
export function wherePast(q: Knex.QueryBuilder, column: string, order: 'asc' | 'desc', cursor: Cursor, idColumn = 'tickets.id'): void {
  const [cmp, cmpOrEqual] = order === 'asc' ? ['>', '>='] : ['<', '<='];
  q.where(column, cmpOrEqual, cursor.value).where((w) => {
    void w.where(column, cmp, cursor.value).orWhere(idColumn, cmp, cursor.id);
  });
}
