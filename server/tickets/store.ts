// Ticket rows and their reads: the queue, a technician's active tickets, and
// the history search (server/history/: by cursor, words on an index).
import type { Knex } from 'knex';
import { countRows } from '../db/database.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { TicketStatus } from './state-machine.ts';
import type { HistoryQuery } from './schema.ts';
import { history } from '../history/history-store.ts';

export interface TicketRow {
  id: number;
  status: TicketStatus;
  requester_name: string;
  username: string;
  hostname: string;
  os: string;
  description: string;
  client_secret_hash: string;
  requester_address: string;
  technician_id: number | null;
  view_only: number | boolean;
  shared_screen?: string | null;
  /** The last hand-over's note (issue 26). */
  handover_note?: string | null;
  recorded?: number | boolean;
  resolution: string | null;
  end_reason: string | null;
  created_at: number;
  updated_at: number;
  accepted_at: number | null;
  approved_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  resolved_at: number | null;
}

export type JoinedTicketRow = TicketRow & { technician_display_name: string | null };
type JoinedRow = JoinedTicketRow;

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function toTicketView(row: JoinedRow): TicketView {
  return {
    id: Number(row.id),
    status: row.status,
    requesterName: row.requester_name,
    username: row.username,
    hostname: row.hostname,
    os: row.os,
    description: row.description,
    technician: row.technician_id === null ? null : { id: Number(row.technician_id), displayName: row.technician_display_name ?? '' },
    viewOnly: Boolean(row.view_only),
    sharedScreen: row.shared_screen ?? null,
    recorded: Boolean(row.recorded),
    endReason: row.end_reason,
    resolution: row.resolution,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    acceptedAt: num(row.accepted_at),
    approvedAt: num(row.approved_at),
    startedAt: num(row.started_at),
    endedAt: num(row.ended_at),
    resolvedAt: num(row.resolved_at),
  };
}

/** Tickets with their technician's name, as views are made of. */
export function joinedTickets(db: Knex) {
  return joined(db);
}

function joined(db: Knex) {
  return db<JoinedRow>('tickets')
    .leftJoin('technicians', 'technicians.id', 'tickets.technician_id')
    .select('tickets.*', 'technicians.display_name as technician_display_name');
}

export const ticketStore = {
  async insert(db: Knex, row: Omit<TicketRow, 'id'>): Promise<number> {
    const [id] = await db('tickets').insert(row);
    return Number(id);
  },

  /** The raw row, locked for update inside a transaction (MySQL; SQLite serialises writers). */
  rowForUpdate: (trx: Knex.Transaction, id: number) => trx<TicketRow>('tickets').where({ id }).forUpdate().first(),

  row: (db: Knex, id: number) => db<TicketRow>('tickets').where({ id }).first(),

  async view(db: Knex, id: number): Promise<TicketView | undefined> {
    const row = (await joined(db).where('tickets.id', id).first()) as JoinedRow | undefined;
    return row ? toTicketView(row) : undefined;
  },

  /** Compare-and-set on status: 1 when this caller won the move, 0 when it lost a race. */
  async moveStatus(db: Knex, id: number, from: TicketStatus, patch: Partial<TicketRow>): Promise<number> {
    return db('tickets').where({ id, status: from }).update(patch);
  },

  countActiveFor(db: Knex, technicianId: number, statuses: readonly TicketStatus[]): Promise<number> {
    return countRows(db('tickets').where('technician_id', technicianId).whereIn('status', statuses));
  },

  async listByStatus(db: Knex, statuses: readonly TicketStatus[], technicianId?: number): Promise<TicketView[]> {
    const q = joined(db).whereIn('tickets.status', statuses).orderBy('tickets.created_at', 'asc').limit(500);
    if (technicianId !== undefined) q.where('tickets.technician_id', technicianId);
    return (await q).map(toTicketView);
  },

  async idsCreatedBefore(db: Knex, status: TicketStatus, before: number): Promise<number[]> {
    const rows = await db('tickets').where({ status }).where('created_at', '<', before).select('id').limit(1000);
    return rows.map((r: { id: number }) => Number(r.id));
  },

  /** The history search by cursor, words on the index (server/history/). */
  history: (db: Knex, query: HistoryQuery, onlyTechnicianId?: number) => history(db, query, onlyTechnicianId),
};

export interface DashboardFigures {
  waiting: number;
  oldestWaitingSince: number | null;
  inSession: number;
  resolvedToday: number;
  /** Sessions over, tickets not resolved yet (every technician's). */
  toResolve: number;
}

/** The dashboard strip: each figure one indexed query. */
export async function dashboardFigures(db: Knex, startOfToday: number): Promise<DashboardFigures> {
  const [waiting, oldest, inSession, resolvedToday, toResolve] = await Promise.all([
    countRows(db('tickets').where({ status: 'requested' })),
    db('tickets').where({ status: 'requested' }).min({ at: 'created_at' }).first(),
    countRows(db('tickets').where({ status: 'in_session' })),
    countRows(db('tickets').where({ status: 'resolved' }).where('resolved_at', '>=', startOfToday)),
    countRows(db('tickets').where({ status: 'ended' })),
  ]);
  return {
    waiting,
    oldestWaitingSince: oldest?.at === null || oldest?.at === undefined ? null : Number(oldest.at),
    inSession,
    resolvedToday,
    toResolve,
  };
}
