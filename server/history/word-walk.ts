// A word search's page, read at a bounded cost (issue 30: one client's
// search must not hold the database for seconds): rows come in the
// history's order from a source (the driving word's rows, or the tickets),
// a window at a time (64 rows, or 256 when checked, then what the page still
// needs at the share that matched so far, or four times more, up to 4,096), each
// window's tickets checked for the other words and filters in one query,
// until the page is full, the source ends, or WALK_BUDGET rows were read.
// Then the page says where it stopped, and the next page goes on from there.
import type { Cursor } from './keyset.ts';

/** Rows of the driving word (or tickets) one page may read. */
export const WALK_BUDGET = 20_000;

export interface Hit {
  id: number;
  createdAt: number;
}

export interface WordRead {
  rows: Hit[];
  /** The last row read when the budget ran out before the page was full (the next page starts after it); null otherwise. */
  stoppedAt: Cursor | null;
}

/** `size` rows of the source after `after` (in the read's order). */
export type Source = (after: Cursor | undefined, size: number) => Promise<Hit[]>;
/** Which of these tickets match (null: all of them). */
export type Check = ((ids: number[]) => Promise<Set<number>>) | null;

export async function walk<T extends { id: number }>(
  source: (after: Cursor | undefined, size: number) => Promise<T[]>,
  check: Check,
  start: Cursor | undefined,
  limit: number,
  budget: number,
  cursorOf: (row: T) => Cursor = (row) => ({ value: (row as unknown as Hit).createdAt, id: row.id }),
): Promise<{ rows: T[]; stoppedAt: Cursor | null }> {
  const rows: T[] = [];
  const seen = new Set<number>();
  let after = start;
  let read = 0;
  // Checked windows start larger: a check costs a query, and a row it takes is one more for the page.
  let size = check ? 256 : 64;
  while (read < budget) {
    const take = Math.min(size, budget - read);
    const window = await source(after, take);
    read += window.length;
    const ok = check ? await check([...new Set(window.map((r) => r.id))]) : null;
    for (const r of window) {
      if ((ok && !ok.has(r.id)) || seen.has(r.id)) continue;
      seen.add(r.id);
      rows.push(r);
      if (rows.length === limit) return { rows, stoppedAt: null };
    }
    if (window.length < take) return { rows, stoppedAt: null };
    after = cursorOf(window.at(-1)!);
    // The next window: what the page still needs at the share of rows that matched so far (half as much again), or four times more.
    const share = rows.length / read;
    size = share > 0 ? Math.min(4_096, Math.max(64, Math.ceil(((limit - rows.length) / share) * 1.5))) : Math.min(size * 4, 4_096);
  }
  return { rows, stoppedAt: after ?? null };
}

/**
 * Several reads of one page (a prefix's words, each walked alone) as one: the rows in order up to where the
 * least advanced stopped read stopped (past it nothing is known), the page's `limit` of them.
 */
export function mergeReads(reads: WordRead[], order: 'asc' | 'desc', limit: number): WordRead {
  const sign = order === 'asc' ? 1 : -1;
  const cmp = (a: { createdAt: number; id: number }, b: { createdAt: number; id: number }) => sign * (a.createdAt - b.createdAt || a.id - b.id);
  const stops = reads.map((r) => r.stoppedAt).filter((c): c is Cursor => c !== null).map((c) => ({ createdAt: Number(c.value), id: c.id }));
  const boundary = stops.sort(cmp)[0] ?? null;
  const seen = new Set<number>();
  const rows = reads
    .flatMap((r) => r.rows)
    .sort(cmp)
    .filter((r) => (boundary === null || cmp(r, boundary) <= 0) && !seen.has(r.id) && seen.add(r.id));
  if (rows.length >= limit || boundary === null) return { rows: rows.slice(0, limit), stoppedAt: null };
  return { rows, stoppedAt: { value: boundary.createdAt, id: boundary.id } };
}

/** Reads at most this many statements of one search at once (the pool is shared with every other request). */
export const SEARCH_PARALLEL = 3;

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
