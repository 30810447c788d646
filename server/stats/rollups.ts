// The statistics' daily rollups (migrations/023_ticket_rollups.ts), kept in
// the transaction of every write that changes what they count: a ticket's
// creation (server/tickets/service.ts) and each move of its state machine
// (server/tickets/transition.ts): accept, release, decline, requeue, resolve
// — and a reopen or a survey when they exist: a survey's rating is one more
// figure of `TicketFacts` and one more kind in `contributions`, applied by
// the same `applyTicketChange` in the survey's transaction. A change takes
// the ticket's contributions before it away and adds those after it, so the
// rollups stay equal to a recount whatever the sequence of moves (and a
// crash rolls them back with the change).
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';
import { applyRatingChange, ratingFactsOf, type RatingFacts } from './survey-rollups.ts';
import { LEVEL_SHIFTS, monthOfDay } from '../../migrations/030_spread_tree.ts';


const DAY_MS = 86_400_000;
const TENTH_MS = 6_000;

/** What the rollups count of one ticket (the survey's rating, team and topic: ./survey-rollups.ts). */
export interface TicketFacts extends RatingFacts {
  created_at: number;
  technician_id: number | null;
  accepted_at: number | null;
  resolved_at: number | null;
}

export type SpreadKind = 'w' | 'r';

/** Tenths of a minute, rounded half up: the statistics' precision. */
export const tenthsOf = (ms: number): number => Math.floor((ms + TENTH_MS / 2) / TENTH_MS);

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

type Key = string;

function contributions(f: TicketFacts | null): Map<Key, number> {
  const out = new Map<Key, number>();
  if (!f) return out;
  const created = Number(f.created_at);
  const day = dayOf(created);
  const tech = f.technician_id === null ? 0 : Number(f.technician_id);
  out.set(`c:${day}:${tech}`, 1);
  const spread = (kind: SpreadKind, at: number | null) => {
    if (at === null || Number(at) < created) return;
    out.set(`${kind}:${day}:${tech}:${tenthsOf(Number(at) - created)}`, 1);
  };
  spread('w', f.accepted_at);
  spread('r', f.resolved_at);
  return out;
}


async function addCount(trx: Knex.Transaction, day: number, tech: number, delta: number): Promise<void> {
  await trx('ticket_day_counts').insert({ day, technician_id: tech, requests: delta }).onConflict(['day', 'technician_id']).merge({ requests: trx.raw('requests + ?', [delta]) });
  if (delta < 0) await trx('ticket_day_counts').where({ day, technician_id: tech }).where('requests', '<=', 0).delete();
}

async function addSpread(trx: Knex.Transaction, kind: SpreadKind, day: number, tech: number, tenths: number, delta: number): Promise<void> {
  const key = { day, technician_id: tech, kind, tenths };
  await trx('ticket_day_spreads').insert({ ...key, n: delta }).onConflict(['day', 'technician_id', 'kind', 'tenths']).merge({ n: trx.raw('n + ?', [delta]) });
  if (delta < 0) await trx('ticket_day_spreads').where(key).where('n', '<=', 0).delete();
}

/** One row of ticket_spread_tree (migrations/030_spread_tree.ts), keyed "unit:level:technician:kind:bucket:at". */
async function addToTree(trx: Knex.Transaction, key: Key, delta: number): Promise<void> {
  const [unit, level, tech, kind, bucket, at] = key.split(':');
  const row = { unit, level: Number(level), technician_id: Number(tech), kind, bucket: Number(bucket), at: Number(at) };
  await trx('ticket_spread_tree').insert({ ...row, n: delta }).onConflict(['unit', 'level', 'technician_id', 'kind', 'bucket', 'at']).merge({ n: trx.raw('n + ?', [delta]) });
  if (delta < 0) await trx('ticket_spread_tree').where(row).where('n', '<=', 0).delete();
}

/** Nearest-rank percentile over a histogram sorted by value: the first value whose running count reaches ⌈p·n/100⌉. */
export function histogramPercentile(buckets: readonly (readonly [value: number, n: number])[], total: number, p: number): number | null {
  if (total <= 0) return null;
  const rank = Math.floor((p * total + 99) / 100);
  let seen = 0;
  for (const [value, n] of buckets) {
    seen += n;
    if (seen >= rank) return value;
  }
  return null;
}

/**
 * Takes the (day, kind) percentile row's lock before its spreads change: every
 * writer of that day and kind waits here, in one order (sorted), so the
 * recomputation after the change reads the latest spreads and none is lost.
 */
async function lockPercentiles(trx: Knex.Transaction, day: number, kind: SpreadKind): Promise<void> {
  await trx('ticket_day_percentiles').insert({ day, kind, n: 0, median_tenths: 0, p90_tenths: 0 }).onConflict(['day', 'kind']).merge({ n: trx.raw('n') });
}

/** The day's median and 90th percentile of one kind, recomputed from its spreads (a locking read on MariaDB: the latest rows, not the transaction's snapshot). */
async function refreshPercentiles(trx: Knex.Transaction, day: number, kind: SpreadKind): Promise<void> {
  const q = trx('ticket_day_spreads').where({ day, kind }).groupBy('tenths').orderBy('tenths').select('tenths').sum({ n: 'n' });
  const rows = (await (isMysql(trx) ? q.forShare() : q)) as { tenths: number | string; n: number | string }[];
  const buckets = rows.map((r) => [Number(r.tenths), Number(r.n)] as const).filter(([, n]) => n > 0);
  const total = buckets.reduce((a, [, n]) => a + n, 0);
  await trx('ticket_day_percentiles')
    .where({ day, kind })
    .update({ n: total, median_tenths: histogramPercentile(buckets, total, 50) ?? 0, p90_tenths: histogramPercentile(buckets, total, 90) ?? 0 });
}

/** Moves the rollups from what they counted of a ticket (`before`; null for a new one) to what they count now (`after`), in the caller's transaction. */
export async function applyTicketChange(trx: Knex.Transaction, before: TicketFacts | null, after: TicketFacts | null): Promise<void> {
  const was = contributions(before);
  const now = contributions(after);
  const deltas = new Map<Key, number>();
  for (const [k, v] of was) deltas.set(k, -v);
  for (const [k, v] of now) deltas.set(k, (deltas.get(k) ?? 0) + v);
  const changes = [...deltas].filter(([, d]) => d !== 0).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const touched = [...new Set(changes.filter(([k]) => !k.startsWith('c:')).map(([k]) => k.split(':').slice(0, 2).reverse().join(':')))].sort();
  for (const dayKind of touched) {
    const [day, kind] = dayKind.split(':');
    await lockPercentiles(trx, Number(day), kind as SpreadKind);
  }
  const tree = new Map<Key, number>();
  for (const [key, delta] of changes) {
    const [kind, day, tech, tenths] = key.split(':');
    if (kind === 'c') await addCount(trx, Number(day), Number(tech), delta);
    else {
      await addSpread(trx, kind as SpreadKind, Number(day), Number(tech), Number(tenths), delta);
      for (const [unit, at] of [['d', Number(day)], ['m', monthOfDay(Number(day))]] as const) {
        for (const [level, shift] of LEVEL_SHIFTS.entries()) {
          const k = `${unit}:${level}:${tech}:${kind}:${Math.floor(Number(tenths) / 2 ** shift)}:${at}`;
          tree.set(k, (tree.get(k) ?? 0) + delta);
        }
      }
    }
  }
  for (const [key, delta] of [...tree].filter(([, d]) => d !== 0).sort((a, b) => (a[0] < b[0] ? -1 : 1))) await addToTree(trx, key, delta);
  for (const dayKind of touched) {
    const [day, kind] = dayKind.split(':');
    await refreshPercentiles(trx, Number(day), kind as SpreadKind);
  }
  await applyRatingChange(trx, before, after);
}

export const factsOf = (row: TicketFacts): TicketFacts => ({ created_at: Number(row.created_at), technician_id: row.technician_id === null ? null : Number(row.technician_id), accepted_at: row.accepted_at === null ? null : Number(row.accepted_at), resolved_at: row.resolved_at === null ? null : Number(row.resolved_at), ...ratingFactsOf(row) });
