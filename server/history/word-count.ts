// How many tickets a word search finds, at a cost that does not grow with
// the words' frequency (issue 30: "about N" when an exact count would cost
// more than it tells). One word alone: its distinct tickets on the index,
// counted up to the cap. Otherwise a sample is checked for every word and
// filter: the driving word's newest COUNT_BUDGET rows when it is rare (exact
// when they are all), or the period's newest COUNT_BUDGET tickets when it is
// common (exact when they are all) — "more than" once the cap is reached, else
// an estimate from the share that matched.
import type { Knex } from 'knex';
import { checkTickets, countUpTo, DENSE, periodSql, planWords, RANKED, termSql, type WordReadOptions } from './word-search.ts';
import type { WordQuery } from './words.ts';

const DAY_MS = 86_400_000;

/** Rows of the driving word checked for a count. */
export const COUNT_BUDGET = 2_000;

export interface WordCount {
  /** Exact when `exact`; an estimate when `estimated`; else `cap` ("more than cap − 1"). */
  total: number;
  exact: boolean;
  estimated: boolean;
}

export async function wordCount(db: Knex, query: WordQuery, o: Omit<WordReadOptions, 'order' | 'limit' | 'cursor'>, cap: number, budget = COUNT_BUDGET, ranked = RANKED): Promise<WordCount> {
  const plan = await planWords(db, query, DENSE);
  if (!plan) return { total: 0, exact: true, estimated: false };
  const dated = o.from !== undefined || o.to !== undefined;
  if (plan.terms.length === 1 && !o.filter && !dated) {
    const cond = termSql('word', plan.driver);
    const row = (await db.from(db.raw(`(SELECT DISTINCT ticket_id FROM ticket_words WHERE ${cond.sql} LIMIT ${cap}) c`, cond.bindings)).count({ n: '*' }).first()) as { n: number | string };
    const n = Number(row.n);
    return { total: n, exact: n < cap, estimated: false };
  }
  const check = checkTickets(db, plan.others, o.filter);
  // The driving word's rows, counted up to RANKED: under it the word itself is sampled.
  let driverRows = plan.driverRows;
  if (driverRows >= plan.driverCap && plan.driverCap < ranked) driverRows = await countUpTo(db, plan.driver, ranked);
  if (driverRows >= ranked) {
    // A common driving word (counted only up to its cap): the period's newest `budget` tickets, checked for every
    // word, stand for the period's tickets, whose number the daily rollups know.
    const q: Knex.QueryBuilder = db('tickets').select('id');
    for (const c of periodSql('created_at', o.from, o.to)) q.whereRaw(c.sql, c.bindings);
    const ids = ((await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(budget)) as { id: number | string }[]).map((r) => Number(r.id));
    const matched = (await checkTickets(db, plan.terms, o.filter)!(ids)).size;
    if (ids.length < budget) return matched < cap ? { total: matched, exact: true, estimated: false } : { total: cap, exact: false, estimated: false };
    return { total: Math.max(matched, Math.round((matched * (await requestsInDays(db, o.from === undefined ? undefined : Math.floor(o.from / DAY_MS), o.to === undefined ? undefined : Math.ceil(o.to / DAY_MS)))) / budget)), exact: false, estimated: true };
  }
  // A rare driving word: its rows in the period (fewer than its cap), the newest `budget` of them checked.
  const range = periodSql('created_at', o.from, o.to);
  const where = [termSql('word', plan.driver), ...range];
  const rows = range.length ? await countUpTo(db, plan.driver, ranked, range) : driverRows;
  const window = (await db('ticket_words')
    .whereRaw(where.map((c) => c.sql).join(' AND '), where.flatMap((c) => c.bindings))
    .orderBy('created_at', 'desc')
    .orderBy('ticket_id', 'desc')
    .limit(budget)
    .select('ticket_id')) as { ticket_id: number | string }[];
  const ids = [...new Set(window.map((r) => Number(r.ticket_id)))];
  const matched = check ? (await check(ids)).size : ids.length;
  if (matched >= cap) return { total: cap, exact: false, estimated: false };
  if (rows <= budget) return { total: matched, exact: true, estimated: false };
  return { total: Math.max(matched, Math.round((matched * rows) / window.length)), exact: false, estimated: true };
}

/** Tickets created on the UTC days [fromDay, toDay) (by one technician), from the daily rollups. */
export async function requestsInDays(db: Knex, fromDay: number | undefined, toDay: number | undefined, technicianId?: number): Promise<number> {
  const q = db('ticket_day_counts');
  if (technicianId !== undefined) q.where('technician_id', technicianId);
  if (fromDay !== undefined) q.where('day', '>=', fromDay);
  if (toDay !== undefined) q.where('day', '<', toDay);
  const row = (await q.sum({ n: 'requests' }).first()) as { n: number | string | null } | undefined;
  return Number(row?.n ?? 0);
}
