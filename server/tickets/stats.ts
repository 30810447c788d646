// The statistics page's figures live in server/stats/ (read from daily
// rollups kept by the ticket's writes); re-exported here for the tickets'
// service and its callers.
export { ticketStats, spreadOf, type Spread, type TicketStats } from '../stats/ticket-stats.ts';

/** Nearest-rank percentile of sorted values (rank ⌈p·n/100⌉, in integers, as the rollups count it). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(1, Math.floor((p * sorted.length + 99) / 100)) - 1]!;
}
