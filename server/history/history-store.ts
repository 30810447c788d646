// The history's reads: a page by cursor (server/history/keyset.ts) under the
// filters, the word index for words (word-search.ts), and a count that costs
// little — exact from the daily rollups when only the technician and whole
// days filter, else counted up to COUNT_CAP rows ("more than 1,000").
import type { Knex } from 'knex';
import type { TicketView } from '../../protocol/events.ts';
import { toTicketView, joinedTickets, type JoinedTicketRow } from '../tickets/store.ts';
import type { HistoryQuery } from '../tickets/schema.ts';
import { decodeCursor, encodeCursor, wherePast, type Cursor } from './keyset.ts';
import { checkTickets, termsOf, wordMatches } from './word-search.ts';
import { walk, WALK_BUDGET } from './word-walk.ts';
import { requestsInDays, wordCount } from './word-count.ts';
import { wordQueryOf } from './words.ts';

export const COUNT_CAP = 1_000;
const DAY_MS = 86_400_000;

export interface HistoryPage {
  rows: TicketView[];
  /** Exact when `totalExact`; an estimate ("about") when `totalEstimated`; else COUNT_CAP + 1 ("more than COUNT_CAP"). */
  total: number;
  totalExact: boolean;
  totalEstimated: boolean;
  /** A word search stopped after reading its budget of rows before the page was full: the page in its direction goes on. */
  partial: boolean;
  /** Cursors of the pages after and before this one (null: none). */
  next: string | null;
  prev: string | null;
}

/** The filters (everything but the cursor and the sort) applied to a tickets query. */
// (It mutates `q` and returns nothing: a query builder is a thenable, which an async function would run.)
function filtered(q: Knex.QueryBuilder, query: HistoryQuery, onlyTechnicianId?: number): void {
  // Prefix matches so the requester and hostname indexes serve the search.
  if (query.requester) q.whereRaw("tickets.requester_name LIKE ? ESCAPE '!'", [`${escapeLike(query.requester)}%`]);
  if (query.hostname) q.whereRaw("tickets.hostname LIKE ? ESCAPE '!'", [`${escapeLike(query.hostname)}%`]);
  if (query.status) q.where('tickets.status', query.status);
  // (Words are not a filter here: the word index's reads take them, word-search.ts.)
  const technicianId = onlyTechnicianId ?? query.technicianId;
  if (technicianId !== undefined) q.where('tickets.technician_id', technicianId);
  if (query.from !== undefined) q.where('tickets.created_at', '>=', query.from);
  if (query.to !== undefined) q.where('tickets.created_at', '<', query.to);
}

/** Escapes LIKE wildcards with '!', an escape character both engines accept the same way. */
function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}

const sortValue = (row: JoinedTicketRow, sort: HistoryQuery['sort']): string | number => {
  const v = row[sort];
  return typeof v === 'string' ? v : Number(v);
};

/** Only the technician and whole UTC days filter: the rollups know the count. */
async function countFromRollups(db: Knex, query: HistoryQuery, technicianId: number | undefined): Promise<number | null> {
  if (query.text || query.requester || query.hostname || query.status) return null;
  if ((query.from !== undefined && query.from % DAY_MS !== 0) || (query.to !== undefined && query.to % DAY_MS !== 0)) return null;
  return requestsInDays(db, query.from === undefined ? undefined : query.from / DAY_MS, query.to === undefined ? undefined : query.to / DAY_MS, technicianId);
}

export async function historyCount(db: Knex, query: HistoryQuery, onlyTechnicianId?: number): Promise<Pick<HistoryPage, 'total' | 'totalExact' | 'totalEstimated'>> {
  const exact = await countFromRollups(db, query, onlyTechnicianId ?? query.technicianId);
  if (exact !== null) return { total: exact, totalExact: true, totalEstimated: false };
  const words = wordQueryOf(query.text);
  if (words) {
    // Words: counted on the word index, up to COUNT_CAP + 1 tickets.
    const found = await wordCount(db, words, wordFilters(query, onlyTechnicianId), COUNT_CAP + 1);
    return { total: found.total, totalExact: found.exact, totalEstimated: found.estimated };
  }
  const capped = db('tickets').select(db.raw('1')).limit(COUNT_CAP + 1);
  filtered(capped, query, onlyTechnicianId);
  const row = (await db.from(capped.as('c')).count({ n: '*' }).first()) as { n: number | string };
  const total = Number(row.n);
  return { total, totalExact: total <= COUNT_CAP, totalEstimated: false };
}

/** The history's filters other than words, for a read of the word index (null when there are none). */
function wordFilters(query: HistoryQuery, onlyTechnicianId: number | undefined) {
  const technicianId = onlyTechnicianId ?? query.technicianId;
  const others = query.requester || query.hostname || query.status || technicianId !== undefined;
  return { from: query.from, to: query.to, filter: others ? (q: Knex.QueryBuilder) => filtered(q, { ...query, from: undefined, to: undefined }, onlyTechnicianId) : null };
}

/** One page of rows and the cursors around it (no count). */
export async function historyRows(db: Knex, query: HistoryQuery, onlyTechnicianId?: number, budget = WALK_BUDGET): Promise<Omit<HistoryPage, 'total' | 'totalExact' | 'totalEstimated'>> {
  const column = `tickets.${query.sort}`;
  const backwards = query.before !== undefined;
  const reverse = (o: 'asc' | 'desc') => (o === 'asc' ? 'desc' : 'asc');
  const order = backwards ? reverse(query.order) : query.order;
  let cursor: Cursor | undefined = query.after ?? query.before;
  if (!cursor && query.at !== undefined) cursor = query.order === 'desc' ? { value: query.at + DAY_MS, id: 0 } : { value: query.at, id: 0 };
  const words = wordQueryOf(query.text);
  let found: JoinedTicketRow[];
  let stopped: Cursor | null = null;
  if (words && query.sort === 'created_at') {
    // In the history's own order the word index finds the page's tickets without reading every match, at a bounded cost.
    const read = await wordMatches(db, words, { ...wordFilters(query, onlyTechnicianId), order, cursor, limit: query.pageSize + 1 }, { budget });
    const byId = new Map(((await joinedTickets(db).whereIn('tickets.id', read.rows.map((r) => r.id))) as JoinedTicketRow[]).map((r) => [Number(r.id), r]));
    found = read.rows.map((r) => byId.get(r.id)).filter((r): r is JoinedTicketRow => r !== undefined);
    stopped = read.stoppedAt;
  } else if (words) {
    // Another order: the tickets in it under the other filters, a window at a time, checked for the words, at the same bounded cost.
    const read = await walk(
      async (after, size) => {
        const q = joinedTickets(db);
        filtered(q, query, onlyTechnicianId);
        if (after) wherePast(q, column, order, after);
        return ((await q.orderBy(column, order).orderBy('tickets.id', order).limit(size)) as JoinedTicketRow[]).map((r) => Object.assign(r, { id: Number(r.id) }));
      },
      checkTickets(db, termsOf(words), null),
      cursor,
      query.pageSize + 1,
      budget,
      (row) => ({ value: sortValue(row, query.sort), id: row.id }),
    );
    found = read.rows;
    stopped = read.stoppedAt;
  } else {
    const q = joinedTickets(db);
    filtered(q, query, onlyTechnicianId);
    if (cursor) wherePast(q, column, order, cursor);
    found = (await q.orderBy(column, order).orderBy('tickets.id', order).limit(query.pageSize + 1)) as JoinedTicketRow[];
  }
  const more = found.length > query.pageSize;
  const page = found.slice(0, query.pageSize);
  if (backwards) page.reverse();
  const cursorOf = (row: JoinedTicketRow | undefined) => (row ? encodeCursor({ value: sortValue(row, query.sort), id: Number(row.id) }) : null);
  // A word search cut short by its budget goes on from where it stopped (an empty page too: both ways from there).
  const stop = stopped ? encodeCursor(stopped) : null;
  const ahead = more ? cursorOf(backwards ? page[0] : page.at(-1)) : stop;
  return {
    rows: page.map(toTicketView),
    next: backwards ? (cursorOf(page.at(-1)) ?? stop) : ahead,
    prev: backwards ? ahead : cursor ? (cursorOf(page[0]) ?? stop) : null,
    partial: !more && stopped !== null,
  };
}

export async function history(db: Knex, query: HistoryQuery, onlyTechnicianId?: number): Promise<HistoryPage> {
  const [page, count] = await Promise.all([historyRows(db, query, onlyTechnicianId), historyCount(db, query, onlyTechnicianId)]);
  // An estimate is never below what the page shows (a rare pair of words may have no match among the rows it sampled).
  if (count.totalEstimated) count.total = Math.max(count.total, page.rows.length + (page.next ? 1 : 0));
  return { ...page, ...count };
}

/** Word-search pages in a row that may stop short (their budget read, server/history/word-walk.ts) before an export stops. */
export const EXPORT_PARTIAL_PAGES = 5;

/**
 * Every row of a search in order, a page of `pageSize` at a time by cursor (the CSV export: memory stays that of
 * one page). Returns `stopped` when words that rarely meet left EXPORT_PARTIAL_PAGES pages in a row short: the
 * export then ends there, saying so, rather than read the whole word index for one request.
 */
export async function* historyAll(db: Knex, query: HistoryQuery, onlyTechnicianId: number | undefined, pageSize: number, maxRows: number, budget = WALK_BUDGET): AsyncGenerator<TicketView[], { stopped: boolean }> {
  let after: Cursor | undefined;
  let sent = 0;
  let short = 0;
  while (sent < maxRows) {
    const size = Math.min(pageSize, maxRows - sent);
    const page = await historyRows(db, { ...query, pageSize: size, after, before: undefined, at: after ? undefined : query.at }, onlyTechnicianId, budget);
    if (page.rows.length) yield page.rows;
    sent += page.rows.length;
    if (!page.next) return { stopped: false };
    short = page.partial ? short + 1 : 0;
    if (short >= EXPORT_PARTIAL_PAGES) return { stopped: true };
    // The next page's cursor, not the last row: a word search's page may end short of it (or be empty) where its budget ran out.
    after = decodeCursor(page.next) ?? undefined;
    if (!after) return { stopped: false };
  }
  return { stopped: false };
}
