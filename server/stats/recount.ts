// The rollups against a recount from the tickets themselves: what the tests
// and the benchmark check (the statistics stay equal to a recount), and what
// an operator can run after restoring a backup.
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';
import { recountSql } from '../../migrations/023_ticket_rollups.ts';
import { compareRatingsWithRecount } from './survey-rollups.ts';
import { firstDayOfMonth, LEVEL_SHIFTS, monthOfDay } from '../../migrations/030_spread_tree.ts';

export interface RollupDifferences {
  /** Rows that differ, as "table key: rollup ≠ recount" (empty: equal). */
  differences: string[];
  rows: number;
}


async function rowsOf(db: Knex, sql: string, bindings: readonly number[]): Promise<Record<string, unknown>[]> {
  const result = (await db.raw(sql, bindings as number[])) as unknown;
  return (isMysql(db) ? (result as [Record<string, unknown>[]])[0] : result) as Record<string, unknown>[];
}

function compare(name: string, keyOf: (r: Record<string, unknown>) => string, valueOf: (r: Record<string, unknown>) => string, kept: Record<string, unknown>[], recounted: Record<string, unknown>[], out: string[]): void {
  const a = new Map(kept.map((r) => [keyOf(r), valueOf(r)]));
  const b = new Map(recounted.map((r) => [keyOf(r), valueOf(r)]));
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) !== b.get(key)) out.push(`${name} ${key}: ${a.get(key) ?? 'none'} ≠ ${b.get(key) ?? 'none'}`);
  }
}

/** Compares every rollup row of the UTC days [fromDay, toDay) (or all) with a recount of the tickets. */
export async function compareRollupsWithRecount(db: Knex, days?: { from: number; to: number }): Promise<RollupDifferences> {
  const sql = recountSql(db, days);
  const range = (q: Knex.QueryBuilder) => (days ? q.where('day', '>=', days.from).where('day', '<', days.to) : q);
  const [counts, spreads, percentiles, countsNow, spreadsNow, tree] = await Promise.all([
    range(db('ticket_day_counts').where('requests', '>', 0)).select('day', 'technician_id', 'requests') as Promise<Record<string, unknown>[]>,
    range(db('ticket_day_spreads').where('n', '>', 0)).select('day', 'technician_id', 'kind', 'tenths', 'n') as Promise<Record<string, unknown>[]>,
    range(db('ticket_day_percentiles').where('n', '>', 0)).select('day', 'kind', 'n', 'median_tenths', 'p90_tenths') as Promise<Record<string, unknown>[]>,
    rowsOf(db, sql.counts, sql.bindings.slice(0, 2)),
    rowsOf(db, sql.spreads, sql.bindings),
    db('ticket_spread_tree').where('n', '>', 0).select('unit', 'at', 'level', 'technician_id', 'kind', 'bucket', 'n') as Promise<Record<string, unknown>[]>,
  ]);
  const recountedPercentiles = percentilesOf(spreadsNow);
  const differences: string[] = [];
  const k = (...names: string[]) => (r: Record<string, unknown>) => names.map((n) => String(r[n])).join(':');
  compare('counts', k('day', 'technician_id'), k('requests'), counts, countsNow, differences);
  compare('spreads', k('day', 'technician_id', 'kind', 'tenths'), k('n'), spreads, spreadsNow, differences);
  compare('percentiles', k('day', 'kind'), k('n', 'median_tenths', 'p90_tenths'), percentiles, recountedPercentiles, differences);
  const covered = (unit: string, at: number) => !days || (unit === 'd' ? at >= days.from && at < days.to : firstDayOfMonth(at) >= days.from && firstDayOfMonth(at + 1) <= days.to);
  const keptTree = tree.filter((r) => covered(String(r.unit), Number(r.at)));
  compare('tree', k('unit', 'at', 'level', 'technician_id', 'kind', 'bucket'), k('n'), keptTree, treeOf(spreadsNow).filter((r) => covered(String(r.unit), Number(r.at))), differences);
  await compareRatingsWithRecount(db, days, differences);
  return { differences, rows: counts.length + spreads.length + percentiles.length + keptTree.length };
}

/** Nearest-rank median and 90th percentile per day and kind of recounted spreads, computed here (independently of the SQL that keeps them). */
function percentilesOf(spreads: Record<string, unknown>[]): Record<string, unknown>[] {
  const byDay = new Map<string, Map<number, number>>();
  for (const s of spreads) {
    const key = `${String(s.day)}:${String(s.kind)}`;
    const h = byDay.get(key) ?? new Map<number, number>();
    h.set(Number(s.tenths), (h.get(Number(s.tenths)) ?? 0) + Number(s.n));
    byDay.set(key, h);
  }
  const out: Record<string, unknown>[] = [];
  for (const [key, h] of byDay) {
    const [day, kind] = key.split(':');
    const values = [...h].sort((a, b) => a[0] - b[0]);
    const n = values.reduce((a, [, c]) => a + c, 0);
    const at = (p: number) => {
      const rank = Math.max(1, Math.ceil((p * n) / 100));
      let seen = 0;
      for (const [v, c] of values) if ((seen += c) >= rank) return v;
      return null;
    };
    out.push({ day, kind, n, median_tenths: at(50), p90_tenths: at(90) });
  }
  return out;
}

/** ticket_spread_tree's rows (migrations/030_spread_tree.ts) from recounted spreads, computed here in Node (independently of the SQL that builds them). */
function treeOf(spreads: Record<string, unknown>[]): Record<string, unknown>[] {
  const tree = new Map<string, number>();
  for (const s of spreads) {
    const day = Number(s.day);
    for (const [unit, at] of [['d', day], ['m', monthOfDay(day)]] as const) {
      for (const [level, shift] of LEVEL_SHIFTS.entries()) {
        const key = `${unit}:${at}:${level}:${String(s.technician_id)}:${String(s.kind)}:${Math.floor(Number(s.tenths) / 2 ** shift)}`;
        tree.set(key, (tree.get(key) ?? 0) + Number(s.n));
      }
    }
  }
  return [...tree].map(([key, n]) => {
    const [unit, at, level, technician_id, kind, bucket] = key.split(':');
    return { unit, at, level, technician_id, kind, bucket, n };
  });
}
