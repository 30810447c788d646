// Words in the problem, the resolution or the conversation, read from the
// word index (server/history/word-index.ts, migrations/031_word_postings.ts)
// the same way on both engines: every word must appear (in any of the
// three), the last one as a prefix unless the text ends after it
// (words.ts), case and accents ignored. Nothing the user types reaches SQL
// but as a bound value.
//
// A page in the history's order is read from one word's rows, newest first,
// stopping at the page: the word with the fewest tickets drives (each word's
// rows are counted up to DENSE), the others are checked per ticket on
// (ticket_id, word). A prefix that covers several words drives as one sorted
// read when it is rare, as one read per word merged here when it is common
// and covers at most MAX_EXPANSION words, else the tickets are read in order
// and checked.
import type { Knex } from 'knex';
import { wherePast, type Cursor } from './keyset.ts';
import { mapLimited, mergeReads, SEARCH_PARALLEL, walk, WALK_BUDGET, type Check, type Hit, type Source, type WordRead } from './word-walk.ts';
import type { WordQuery } from './words.ts';

/** Below this many rows a word's rows are read whole and sorted; from it on they are read in order up to a page. */
export const DENSE = 2_000;
/** When several words are common, each is counted up to this many rows to pick the one that drives. */
export const RANKED = 20_000;
/** Words of one prefix read one by one (and merged); a prefix covering more is checked ticket by ticket. */
export const MAX_EXPANSION = 16;

export interface Term {
  word: string;
  prefix: boolean;
}

export interface Sql {
  sql: string;
  bindings: (string | number)[];
}

export const termsOf = (q: WordQuery): Term[] => q.words.map((word, i) => ({ word, prefix: q.prefixLast && i === q.words.length - 1 }));

/** The first string after every string that starts with `prefix` (in code-point order, as both engines compare these words). */
function pastPrefix(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop()!.codePointAt(0)!;
  const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
  return chars.join('') + String.fromCodePoint(next);
}

/** The term's condition on the word column `column`. */
export function termSql(column: string, t: Term): Sql {
  return t.prefix ? { sql: `${column} >= ? AND ${column} < ?`, bindings: [t.word, pastPrefix(t.word)] } : { sql: `${column} = ?`, bindings: [t.word] };
}

/** How many rows the term's word(s) have (under `also`, conditions on ticket_words' columns), counted up to `cap`. */
export async function countUpTo(db: Knex, t: Term, cap: number, also: readonly Sql[] = []): Promise<number> {
  const where = [termSql('word', t), ...also];
  const row = (await db.from(db.raw(`(SELECT 1 AS x FROM ticket_words WHERE ${where.map((c) => c.sql).join(' AND ')} LIMIT ${cap}) c`, where.flatMap((c) => c.bindings))).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/** The period [from, to) as conditions on `column`. */
export function periodSql(column: string, from: number | undefined, to: number | undefined): Sql[] {
  return [...(from !== undefined ? [{ sql: `${column} >= ?`, bindings: [from] }] : []), ...(to !== undefined ? [{ sql: `${column} < ?`, bindings: [to] }] : [])];
}

/** The distinct words starting with `prefix`, up to `max` (one index seek each). */
async function expansion(db: Knex, prefix: string, max: number): Promise<string[]> {
  const out: string[] = [];
  const end = pastPrefix(prefix);
  let from: string | null = null;
  while (out.length < max) {
    const q = db('ticket_words').where('word', '<', end);
    if (from === null) q.where('word', '>=', prefix);
    else q.where('word', '>', from);
    const row = (await q.min({ w: 'word' }).first()) as { w: string | null } | undefined;
    if (!row?.w) break;
    out.push((from = row.w));
  }
  return out;
}

export interface WordReadOptions {
  order: 'asc' | 'desc';
  cursor?: Cursor;
  limit: number;
  /** Adds the history's other filters to a query whose tickets table is joined as `tickets` (null: none). */
  filter: ((q: Knex.QueryBuilder) => void) | null;
  from?: number;
  to?: number;
}

export interface WordPlan {
  terms: Term[];
  /** The word (or prefix) with the fewest rows, and how many it has, counted up to `driverCap` (exact below it). */
  driver: Term;
  driverRows: number;
  driverCap: number;
  others: Term[];
}

/** Which word drives a read: each is counted up to `dense` rows, and further when several reach it. Null when one has no row. */
export async function planWords(db: Knex, query: WordQuery, dense: number): Promise<WordPlan | null> {
  const terms = termsOf(query);
  const counts = await mapLimited(terms, SEARCH_PARALLEL, (t) => countUpTo(db, t, dense));
  if (counts.some((n) => n === 0)) return null;
  const ranked = counts.filter((n) => n >= dense).length > 1;
  if (ranked) await mapLimited(terms, SEARCH_PARALLEL, async (t, i) => void (counts[i]! >= dense && (counts[i] = await countUpTo(db, t, RANKED))));
  const driverAt = counts.indexOf(Math.min(...counts));
  return { terms, driver: terms[driverAt]!, driverRows: counts[driverAt]!, driverCap: ranked ? RANKED : dense, others: terms.filter((_, i) => i !== driverAt) };
}

/**
 * Ticket ids in the history's order (created_at, id) whose words match, after the cursor, up to `limit`, reading at
 * most `budget` rows (server/history/word-walk.ts: `stoppedAt` says where a page cut short by it stopped).
 */
export async function wordMatches(db: Knex, query: WordQuery, o: WordReadOptions, limits: Partial<{ dense: number; maxExpansion: number; budget: number; sortedUpTo: number }> = {}): Promise<WordRead> {
  const { dense = DENSE, maxExpansion = MAX_EXPANSION, budget = WALK_BUDGET, sortedUpTo = RANKED } = limits;
  const plan = await planWords(db, query, dense);
  if (!plan) return { rows: [], stoppedAt: null };
  const { driver, others, terms } = plan;
  const check = others.length || o.filter ? checkTickets(db, others, o.filter) : null;
  // A prefix's rows under `sortedUpTo` are read as one range sorted by date (each window sorts them all: cheap while few).
  const driverRows = driver.prefix && plan.driverRows >= plan.driverCap && plan.driverCap < sortedUpTo ? await countUpTo(db, driver, sortedUpTo) : plan.driverRows;
  if (!driver.prefix || driverRows < Math.max(dense, sortedUpTo)) return walk(wordRows(db, termSql('d.word', driver), o), check, o.cursor, o.limit, budget);
  const words = await expansion(db, driver.word, maxExpansion + 1);
  if (words.length <= maxExpansion) {
    const share = Math.ceil(budget / words.length);
    const reads = await mapLimited(words, SEARCH_PARALLEL, (w) => walk(wordRows(db, { sql: 'd.word = ?', bindings: [w] }, o), check, o.cursor, o.limit, share));
    return mergeReads(reads, o.order, o.limit);
  }
  return walk(ticketRows(db, o), checkTickets(db, terms, o.filter), o.cursor, o.limit, budget);
}

const hits = (rows: { id: number | string; createdAt: number | string }[]): Hit[] => rows.map((r) => ({ id: Number(r.id), createdAt: Number(r.createdAt) }));

/** The driving word's rows (`d`) in order, in the period. */
const wordRows = (db: Knex, driver: Sql, o: WordReadOptions): Source => rowsInOrder(db, { d: 'ticket_words' }, 'd.ticket_id', 'd.created_at', o, driver);

/** The tickets in order, in the period (for a prefix so common that the tickets themselves find a page soonest). */
const ticketRows = (db: Knex, o: WordReadOptions): Source => rowsInOrder(db, 'tickets', 'tickets.id', 'tickets.created_at', o);

/** `table`'s rows in the history's order (`time`, then `id`) after a cursor, in the period (and under `where`). */
function rowsInOrder(db: Knex, table: string | Record<string, string>, id: string, time: string, o: WordReadOptions, where?: Sql): Source {
  return async (after, size) => {
    const q: Knex.QueryBuilder = db(table).select({ id, createdAt: time });
    if (where) q.whereRaw(where.sql, where.bindings);
    for (const c of periodSql(time, o.from, o.to)) q.whereRaw(c.sql, c.bindings);
    if (after) wherePast(q, time, o.order, after, id);
    return hits((await q.orderBy(time, o.order).orderBy(id, o.order).limit(size)) as { id: number | string; createdAt: number | string }[]);
  };
}

/**
 * Which of a window's tickets have every one of `terms` and pass the history's other filters: a query per word on
 * (ticket_id, word) — point reads, no subquery per ticket — and one on the tickets for the filters, SEARCH_PARALLEL at once.
 */
export function checkTickets(db: Knex, terms: Term[], filter: WordReadOptions['filter']): Check {
  return async (ids) => {
    if (!ids.length) return new Set();
    const reads: (() => Promise<{ id: number | string }[]>)[] = terms.map((t) => () => {
      const cond = termSql('word', t);
      return db('ticket_words').distinct({ id: 'ticket_id' }).whereIn('ticket_id', ids).whereRaw(cond.sql, cond.bindings) as Promise<{ id: number | string }[]>;
    });
    if (filter) {
      reads.push(() => {
        const q: Knex.QueryBuilder = db('tickets').whereIn('tickets.id', ids).select('tickets.id');
        filter(q);
        return q as Promise<{ id: number | string }[]>;
      });
    }
    const sets = (await mapLimited(reads, SEARCH_PARALLEL, (read) => read())).map((rows) => new Set(rows.map((r) => Number(r.id))));
    return new Set(ids.filter((id) => sets.every((set) => set.has(id))));
  };
}
