// Figures for the statistics page, read from the daily rollups
// (server/stats/rollups.ts) rather than the period's tickets: requests per day
// and technician from ticket_day_counts, each day's median and 90th
// percentile of the wait until accepted and the time to resolve from
// ticket_day_percentiles, a technician's over the whole period from
// ticket_spread_tree (server/stats/technician-spreads.ts: tenths of a minute,
// exact at the page's precision), and
// remote sessions by how they ended (indexed by start).
import type { Knex } from 'knex';
import { histogramPercentile, type SpreadKind } from './rollups.ts';
import { technicianSpreads } from './technician-spreads.ts';

export interface Spread {
  count: number;
  /** Minutes (to a tenth), null when there is nothing to measure. */
  median: number | null;
  p90: number | null;
}

export interface TicketStats {
  from: number;
  to: number;
  /** UTC days, "YYYY-MM-DD", oldest first. */
  days: string[];
  requests: number[];
  wait: Spread[];
  resolve: Spread[];
  byTechnician: { technicianId: number; requests: number; wait: Spread; resolve: Spread }[];
  byReason: { reason: string; sessions: number }[];
}

const DAY_MS = 86_400_000;
const none: Spread = { count: 0, median: null, p90: null };
const minutes = (tenths: number | null) => (tenths === null ? null : tenths / 10);

/** A spread from a histogram of tenths of a minute sorted by value. */
export function spreadOf(buckets: readonly (readonly [number, number])[]): Spread {
  const count = buckets.reduce((a, [, n]) => a + n, 0);
  return count === 0 ? none : { count, median: minutes(histogramPercentile(buckets, count, 50)), p90: minutes(histogramPercentile(buckets, count, 90)) };
}

export async function ticketStats(db: Knex, now: number, days: number): Promise<TicketStats> {
  const toDay = Math.floor(now / DAY_MS) + 1;
  const fromDay = toDay - days;
  const from = fromDay * DAY_MS;
  const to = toDay * DAY_MS;
  const inPeriod = (q: Knex.QueryBuilder) => q.where('day', '>=', fromDay).where('day', '<', toDay);
  const [counts, percentiles, spreads, reasons] = await Promise.all([
    inPeriod(db('ticket_day_counts')).select('day', 'technician_id', 'requests') as Promise<{ day: number; technician_id: number; requests: number }[]>,
    inPeriod(db('ticket_day_percentiles')).where('n', '>', 0).select('day', 'kind', 'n', 'median_tenths', 'p90_tenths') as Promise<{ day: number; kind: SpreadKind; n: number; median_tenths: number; p90_tenths: number }[]>,
    technicianSpreads(db, fromDay, toDay),
    db('remote_sessions')
      .where('started_at', '>=', from)
      .where('started_at', '<', to)
      .whereNotNull('end_reason')
      .groupBy('end_reason')
      .select('end_reason')
      .count({ n: '*' }) as Promise<{ end_reason: string; n: number | string }[]>,
  ]);
  const requests = new Array<number>(days).fill(0);
  const wait = new Array<Spread>(days).fill(none);
  const resolve = new Array<Spread>(days).fill(none);
  const perTech = new Map<number, { requests: number; w: Spread; r: Spread }>();
  const tech = (id: number) => {
    let t = perTech.get(id);
    if (!t) perTech.set(id, (t = { requests: 0, w: none, r: none }));
    return t;
  };
  for (const c of counts) {
    requests[Number(c.day) - fromDay]! += Number(c.requests);
    if (Number(c.technician_id) > 0) tech(Number(c.technician_id)).requests += Number(c.requests);
  }
  for (const p of percentiles) {
    const spread = { count: Number(p.n), median: minutes(Number(p.median_tenths)), p90: minutes(Number(p.p90_tenths)) };
    (p.kind === 'w' ? wait : resolve)[Number(p.day) - fromDay] = spread;
  }
  for (const [id, kinds] of spreads) {
    for (const kind of ['w', 'r'] as const) {
      const k = kinds[kind];
      if (k.count > 0) tech(id)[kind] = { count: k.count, median: minutes(k.medianTenths), p90: minutes(k.p90Tenths) };
    }
  }
  return {
    from,
    to,
    days: Array.from({ length: days }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10)),
    requests,
    wait,
    resolve,
    byTechnician: [...perTech]
      .filter(([, t]) => t.requests > 0)
      .map(([technicianId, t]) => ({ technicianId, requests: t.requests, wait: t.w, resolve: t.r }))
      .sort((a, b) => b.requests - a.requests || a.technicianId - b.technicianId),
    byReason: reasons.map((r) => ({ reason: String(r.end_reason), sessions: Number(r.n) })).sort((a, b) => b.sessions - a.sessions),
  };
}
