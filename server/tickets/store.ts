// Ticket rows and their reads: the queue, a technician's active tickets, and
// the history search (server/history/: by cursor, words on an index).
import { addTicketWords, reindexTicket } from '../history/word-index.ts';
import type { Knex } from 'knex';
import { countRows } from '../db/database.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { TicketRouting } from '../../protocol/teams.ts';
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
  /** Issue 29: its topic, the team whose queue holds it, its target wait, when it is due and when it was found waiting too long. */
  topic_id?: number | null;
  team_id?: number | null;
  wait_target_ms?: number | null;
  wait_due_at?: number | null;
  waiting_too_long_at?: number | null;
}

/** Which queues a read covers: some teams', and everyone's (requests with no team). */
export interface QueueScope {
  teams: readonly number[];
  everyone: boolean;
}

export type JoinedTicketRow = TicketRow & { technician_display_name: string | null } & Partial<RoutingNames>;
type RoutingNames = { team_name: string | null; topic_name_en: string | null; topic_name_es: string | null; topic_name_zh: string | null };
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
    routing: routingOf(row),
  };
}

function routingOf(row: JoinedRow): TicketRouting {
  const topicId = row.topic_id ?? null;
  const teamId = row.team_id ?? null;
  return {
    topic: topicId === null ? null : { id: Number(topicId), names: { en: row.topic_name_en ?? '', es: row.topic_name_es ?? '', zh: row.topic_name_zh ?? '' } },
    team: teamId === null ? null : { id: Number(teamId), name: row.team_name ?? '' },
    waitTargetMs: num(row.wait_target_ms ?? null),
    waitDueAt: num(row.wait_due_at ?? null),
    waitingTooLongAt: num(row.waiting_too_long_at ?? null),
  };
}

/** Tickets with their technician's name, as views are made of. */
export function joinedTickets(db: Knex) {
  return joined(db);
}

function joined(db: Knex) {
  return db<JoinedRow>('tickets')
    .leftJoin('technicians', 'technicians.id', 'tickets.technician_id')
    .leftJoin('teams', 'teams.id', 'tickets.team_id')
    .leftJoin('topics', 'topics.id', 'tickets.topic_id')
    .select('tickets.*', 'technicians.display_name as technician_display_name', 'teams.name as team_name', 'topics.name_en as topic_name_en', 'topics.name_es as topic_name_es', 'topics.name_zh as topic_name_zh');
}

export const ticketStore = {
  async insert(db: Knex, row: Omit<TicketRow, 'id'>): Promise<number> {
    const [id] = await db('tickets').insert(row);
    // Its problem's words, in the same transaction (server/history/word-index.ts).
    await addTicketWords(db, Number(id), row.created_at, [row.description, row.resolution]);
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
    const moved = await db('tickets').where({ id, status: from }).update(patch);
    // A resolution written replaces the words of any earlier one in the word index.
    if (moved === 1 && patch.resolution !== undefined) await reindexTicket(db, id);
    return moved;
  },

  countActiveFor(db: Knex, technicianId: number, statuses: readonly TicketStatus[]): Promise<number> {
    return countRows(db('tickets').where('technician_id', technicianId).whereIn('status', statuses));
  },

  /** `scope` (issue 29): only these teams' queues, and everyone's (no team) when `everyone`; absent: every queue. */
  async listByStatus(db: Knex, statuses: readonly TicketStatus[], technicianId?: number, scope?: QueueScope): Promise<TicketView[]> {
    const q = joined(db).whereIn('tickets.status', statuses).orderBy('tickets.created_at', 'asc').limit(500);
    if (technicianId !== undefined) q.where('tickets.technician_id', technicianId);
    if (scope) {
      q.where((w) => {
        if (scope.teams.length) w.whereIn('tickets.team_id', scope.teams);
        if (scope.everyone) w.orWhereNull('tickets.team_id');
        if (!scope.teams.length && !scope.everyone) w.whereRaw('1 = 0');
      });
    }
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
