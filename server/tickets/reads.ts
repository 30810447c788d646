// The tickets' read-only figures for pages and the API: the history (by
// cursor, words on the index: server/history/), its every row for the CSV,
// the statistics (from the daily rollups: server/stats/) and the dashboard
// strip. Spread into the ticket service.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { HistoryQuery } from './schema.ts';
import { dashboardFigures, ticketStore } from './store.ts';
import { ticketStats } from './stats.ts';
import { historyAll } from '../history/history-store.ts';

type Viewer = { id: number; role: 'admin' | 'technician' };

/** A technician sees only the tickets they held; an administrator every one. */
const onlyTechnician = (viewer: Viewer) => (viewer.role === 'admin' ? undefined : viewer.id);

export function ticketReads(db: Knex, clock: Clock) {
  return {
    /** The history search. The caller validates the query. */
    history: (query: HistoryQuery, viewer: Viewer) => ticketStore.history(db, query, onlyTechnician(viewer)),

    /** Every row of the same search in order, read by cursor a page at a time (the CSV export). */
    historyAll: (query: HistoryQuery, viewer: Viewer, maxRows: number) => historyAll(db, query, onlyTechnician(viewer), 1_000, maxRows),

    /** The statistics page's figures over the last `days` (UTC days, today included). */
    stats: (days: number) => ticketStats(db, clock.now(), days),

    dashboard() {
      const today = new Date(clock.now());
      today.setHours(0, 0, 0, 0);
      return dashboardFigures(db, today.getTime());
    },
  };
}
