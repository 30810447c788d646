// Each technician's median and 90th percentile of the wait until accepted and
// the time to resolve over a period of UTC days, read from ticket_spread_tree
// (migrations/030_spread_tree.ts): the period's whole calendar months and its
// days at either end; first every coarse bucket (256 tenths of a minute), then,
// for each figure, only the sixteen finer buckets inside the one that holds
// its rank, then the sixteen tenths inside that one. A year reads a few
// thousand rows, not a row per ticket, and the figures are exact (nearest
// rank, to a tenth of a minute: the same as summing the daily spreads).
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';
import { firstDayOfMonth, LEVEL_SHIFTS, monthOfDay } from '../../migrations/030_spread_tree.ts';
import type { SpreadKind } from './rollups.ts';

export interface TechnicianSpread {
  count: number;
  medianTenths: number | null;
  p90Tenths: number | null;
}

interface Figure {
  group: string;
  /** Rank still to pass inside `bucket`. */
  rank: number;
  bucket: number;
}

type Row = { technician_id: number | string; kind: SpreadKind; bucket: number | string; n: number | string };

/** The period as (unit, from, to) ranges of ticket_spread_tree: whole months, and the days around them. */
function rangesOf(fromDay: number, toDay: number): [unit: 'd' | 'm', from: number, to: number][] {
  let m0 = monthOfDay(fromDay);
  if (firstDayOfMonth(m0) < fromDay) m0++;
  const m1 = monthOfDay(toDay);
  if (m0 >= m1) return [['d', fromDay, toDay]];
  const ranges: [unit: 'd' | 'm', from: number, to: number][] = [['d', fromDay, firstDayOfMonth(m0)], ['m', m0, m1], ['d', firstDayOfMonth(m1), toDay]];
  return ranges.filter(([, a, b]) => a < b);
}

async function rows(db: Knex, parts: { sql: string; bindings: (string | number)[] }[]): Promise<Row[]> {
  if (!parts.length) return [];
  if (isMysql(db)) {
    // MariaDB runs a UNION's selects one after another on one thread: each part is a statement of its own, read at once on
    // the pool, and summed here (in the order the callers need: technician, kind, bucket).
    const results = await Promise.all(parts.map(async (p) => ((await db.raw(p.sql, p.bindings)) as [Row[]])[0]));
    const sums = new Map<string, Row>();
    for (const r of results.flat()) {
      const key = `${Number(r.technician_id)}:${r.kind}:${Number(r.bucket)}`;
      const had = sums.get(key);
      sums.set(key, had ? { ...had, n: Number(had.n) + Number(r.n) } : { technician_id: Number(r.technician_id), kind: r.kind, bucket: Number(r.bucket), n: Number(r.n) });
    }
    return [...sums.values()].sort((a, b) => Number(a.technician_id) - Number(b.technician_id) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || Number(a.bucket) - Number(b.bucket));
  }
  const sql = `SELECT technician_id, kind, bucket, SUM(n) AS n FROM (${parts.map((p) => p.sql).join(' UNION ALL ')}) t GROUP BY technician_id, kind, bucket ORDER BY technician_id, kind, bucket`;
  return (await db.raw(sql, parts.flatMap((p) => p.bindings))) as Row[];
}

const select = 'SELECT technician_id, kind, bucket, n FROM ticket_spread_tree WHERE unit = ? AND level = ? AND at >= ? AND at < ?';

/** Finds, in a histogram sorted by bucket, the bucket holding the figure's rank, and the rank left inside it. */
function descend(figure: Figure, histogram: readonly (readonly [number, number])[] | undefined): void {
  let seen = 0;
  for (const [bucket, n] of histogram ?? []) {
    if (seen + n >= figure.rank) {
      figure.rank -= seen;
      figure.bucket = bucket;
      return;
    }
    seen += n;
  }
  throw new Error(`statistics: no bucket holds rank ${figure.rank} of ${figure.group}`);
}

/** Per technician (those with any figure) and kind, the count, median and 90th percentile (tenths of a minute) over the UTC days [fromDay, toDay). */
export async function technicianSpreads(db: Knex, fromDay: number, toDay: number): Promise<Map<number, Record<SpreadKind, TechnicianSpread>>> {
  const ranges = rangesOf(fromDay, toDay);
  const top = LEVEL_SHIFTS.length - 1;
  const coarse = await rows(db, ranges.map(([unit, a, b]) => ({ sql: `${select} AND technician_id > 0`, bindings: [unit, top, a, b] })));
  const histograms = new Map<string, [number, number][]>();
  for (const r of coarse) {
    const group = `${Number(r.technician_id)}:${r.kind}`;
    const h = histograms.get(group) ?? [];
    h.push([Number(r.bucket), Number(r.n)]);
    histograms.set(group, h);
  }
  const out = new Map<number, Record<SpreadKind, TechnicianSpread>>();
  const figures: [Figure, Figure][] = [];
  for (const [group, h] of histograms) {
    const count = h.reduce((a, [, n]) => a + n, 0);
    const pair = [50, 90].map((p) => ({ group, rank: Math.floor((p * count + 99) / 100), bucket: 0 })) as [Figure, Figure];
    for (const f of pair) descend(f, h);
    figures.push(pair);
    const [tech, kind] = group.split(':') as [string, SpreadKind];
    const entry = out.get(Number(tech)) ?? { w: { count: 0, medianTenths: null, p90Tenths: null }, r: { count: 0, medianTenths: null, p90Tenths: null } };
    entry[kind] = { count, medianTenths: null, p90Tenths: null };
    out.set(Number(tech), entry);
  }
  for (let level = top - 1; level >= 0; level--) {
    const width = 2 ** (LEVEL_SHIFTS[level + 1]! - LEVEL_SHIFTS[level]!);
    const wanted = new Map<string, Figure>();
    for (const f of figures.flat()) wanted.set(`${f.group}:${f.bucket}`, f);
    // The finer buckets listed (integers computed here), not a range: each is then one seek with its range of days or months.
    const inside = (f: Figure) => {
      const [tech, kind] = f.group.split(':');
      return { sql: `technician_id = ? AND kind = ? AND bucket IN (${Array.from({ length: width }, (_, i) => f.bucket * width + i).join(', ')})`, bindings: [Number(tech), kind!] };
    };
    const each = [...wanted.values()].map(inside);
    // SQLite: a select per figure and range; MariaDB (where each select of a UNION costs more): one per range, the figures OR-ed.
    const parts = !each.length ? [] : isMysql(db)
      ? ranges.map(([unit, a, b]) => ({ sql: `${select} AND (${each.map((e) => `(${e.sql})`).join(' OR ')})`, bindings: [unit, level, a, b, ...each.flatMap((e) => e.bindings)] }))
      : each.flatMap((e) => ranges.map(([unit, a, b]) => ({ sql: `${select} AND ${e.sql}`, bindings: [unit, level, a, b, ...e.bindings] })));
    const fine = new Map<string, [number, number][]>();
    for (const r of await rows(db, parts)) {
      const key = `${Number(r.technician_id)}:${r.kind}:${Math.floor(Number(r.bucket) / width)}`;
      const h = fine.get(key) ?? [];
      h.push([Number(r.bucket), Number(r.n)]);
      fine.set(key, h);
    }
    for (const f of figures.flat()) descend(f, fine.get(`${f.group}:${f.bucket}`));
  }
  for (const [median, p90] of figures) {
    const [tech, kind] = median.group.split(':') as [string, SpreadKind];
    const entry = out.get(Number(tech))!;
    entry[kind] = { ...entry[kind], medianTenths: median.bucket, p90Tenths: p90.bucket };
  }
  return out;
}
