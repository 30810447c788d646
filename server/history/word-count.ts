// How many tickets a word search finds, at a cost that does not grow with
// the words' frequency (issue 30: "about N" when an exact count would cost
// more than it tells). One word alone: its distinct tickets on the index,
// counted up to the cap. Otherwise the driving word's first COUNT_BUDGET
// rows (server/history/word-search.ts) are checked for the other words and
// filters: exact when they were all its rows, "more than" once the cap is
// reached, else an estimate from the share that matched.
import type { Knex } from 'knex';
import { DENSE, hasTerm, planWords, RANKED, termSql, type WordReadOptions } from './word-search.ts';
import type { WordQuery } from './words.ts';

/** Rows of the driving word checked for a count. */
export const COUNT_BUDGET = 2_000;

export interface WordCount {
  /** Exact when `exact`; an estimate when `estimated`; else `cap` ("more than cap − 1"). */
  total: number;
  exact: boolean;
  estimated: boolean;
}

export async function wordCount(db: Knex, query: WordQuery, o: Omit<WordReadOptions, 'order' | 'limit' | 'cursor'>, cap: number, budget = COUNT_BUDGET): Promise<WordCount> {
  const plan = await planWords(db, query, DENSE);
  if (!plan) return { total: 0, exact: true, estimated: false };
  const dated = o.from !== undefined || o.to !== undefined;
  if (plan.terms.length === 1 && !o.filter && !dated) {
    const cond = termSql('word', plan.driver);
    const row = (await db.from(db.raw(`(SELECT DISTINCT ticket_id FROM ticket_words WHERE ${cond.sql} LIMIT ${cap}) c`, cond.bindings)).count({ n: '*' }).first()) as { n: number | string };
    const n = Number(row.n);
    return { total: n, exact: n < cap, estimated: false };
  }
  const cond = termSql('word', plan.driver);
  const range = [...(o.from !== undefined ? [{ sql: 'created_at >= ?', bindings: [o.from] }] : []), ...(o.to !== undefined ? [{ sql: 'created_at < ?', bindings: [o.to] }] : [])];
  const where = [cond, ...range];
  const window = db.raw(`(SELECT ticket_id, created_at FROM ticket_words WHERE ${where.map((c) => c.sql).join(' AND ')} LIMIT ${budget}) d`, where.flatMap((c) => c.bindings));
  // Rows of the driving word (in the period), for the estimate: exact up to RANKED.
  const rows = dated ? await countInPeriod(db, cond, range, RANKED) : plan.driverRows < plan.driverCap ? plan.driverRows : await countInPeriod(db, cond, [], RANKED);
  const q: Knex.QueryBuilder = db.from(window).distinct('d.ticket_id');
  plan.others.forEach((t, i) => {
    const e = hasTerm('d.ticket_id', t, `o${i}`);
    q.whereRaw(e.sql, e.bindings);
  });
  if (o.filter) {
    q.join('tickets', 'tickets.id', 'd.ticket_id');
    o.filter(q);
  }
  const matched = ((await q.limit(cap)) as unknown[]).length;
  if (matched >= cap) return { total: cap, exact: false, estimated: false };
  if (rows <= budget) return { total: matched, exact: true, estimated: false };
  return { total: Math.max(matched, Math.round((matched * rows) / budget)), exact: false, estimated: true };
}

async function countInPeriod(db: Knex, cond: { sql: string; bindings: (string | number)[] }, range: { sql: string; bindings: number[] }[], cap: number): Promise<number> {
  const where = [cond, ...range];
  const row = (await db.from(db.raw(`(SELECT 1 AS x FROM ticket_words WHERE ${where.map((c) => c.sql).join(' AND ')} LIMIT ${cap}) c`, where.flatMap((c) => c.bindings))).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}
