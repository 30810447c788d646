// Figures for the statistics page: requests per day, the wait until a
// technician accepted and the time to resolve (median and 90th percentile)
// per day and per technician, and remote sessions by how they ended. One
// indexed range read of the period's tickets (created_at), percentiles
// computed here so both engines give the same answer.
import type { Knex } from 'knex';

export interface Spread {
  count: number;
  /** Minutes, null when there is nothing to measure. */
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

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

function spread(ms: number[]): Spread {
  const sorted = ms.sort((a, b) => a - b);
  const minutes = (v: number | null) => (v === null ? null : Math.round((v / 60_000) * 10) / 10);
  return { count: sorted.length, median: minutes(percentile(sorted, 50)), p90: minutes(percentile(sorted, 90)) };
}

export async function ticketStats(db: Knex, now: number, days: number): Promise<TicketStats> {
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const from = to - days * DAY_MS;
  const [rows, reasons] = await Promise.all([
    db('tickets')
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .select('created_at', 'accepted_at', 'resolved_at', 'technician_id') as Promise<{ created_at: number; accepted_at: number | null; resolved_at: number | null; technician_id: number | null }[]>,
    db('remote_sessions')
      .where('started_at', '>=', from)
      .where('started_at', '<', to)
      .whereNotNull('end_reason')
      .groupBy('end_reason')
      .select('end_reason')
      .count({ n: '*' }) as Promise<{ end_reason: string; n: number | string }[]>,
  ]);
  const dayList = Array.from({ length: days }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10));
  const requests = new Array<number>(days).fill(0);
  const waits = dayList.map((): number[] => []);
  const resolves = dayList.map((): number[] => []);
  const perTech = new Map<number, { requests: number; wait: number[]; resolve: number[] }>();
  for (const r of rows) {
    const created = Number(r.created_at);
    const day = Math.floor((created - from) / DAY_MS);
    requests[day]! += 1;
    const wait = r.accepted_at === null ? null : Number(r.accepted_at) - created;
    const resolve = r.resolved_at === null ? null : Number(r.resolved_at) - created;
    if (wait !== null && wait >= 0) waits[day]!.push(wait);
    if (resolve !== null && resolve >= 0) resolves[day]!.push(resolve);
    if (r.technician_id !== null) {
      const id = Number(r.technician_id);
      const t = perTech.get(id) ?? { requests: 0, wait: [], resolve: [] };
      t.requests += 1;
      if (wait !== null && wait >= 0) t.wait.push(wait);
      if (resolve !== null && resolve >= 0) t.resolve.push(resolve);
      perTech.set(id, t);
    }
  }
  return {
    from,
    to,
    days: dayList,
    requests,
    wait: waits.map(spread),
    resolve: resolves.map(spread),
    byTechnician: [...perTech].map(([technicianId, t]) => ({ technicianId, requests: t.requests, wait: spread(t.wait), resolve: spread(t.resolve) })).sort((a, b) => b.requests - a.requests),
    byReason: reasons.map((r) => ({ reason: String(r.end_reason), sessions: Number(r.n) })).sort((a, b) => b.sessions - a.sessions),
  };
}
