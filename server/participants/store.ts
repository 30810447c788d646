// A ticket's participants besides its holder (ticket_participants): rows, the
// views both APIs show, and the moves of one row's state (compare-and-set on
// the state it is expected in). open_technician_id mirrors technician_id while
// the row is open, so the unique index (ticket, open technician) holds one
// open row per technician whatever two writers do at once.
import type { Knex } from 'knex';
import {
  channelKey,
  openParticipantStates,
  type DesktopParticipantView,
  type ParticipantKind,
  type ParticipantMode,
  type ParticipantState,
  type ParticipantView,
} from '../../protocol/participants.ts';

export interface ParticipantRow {
  id: number;
  ticketId: number;
  technicianId: number;
  displayName: string;
  mode: ParticipantMode;
  kind: ParticipantKind;
  state: ParticipantState;
  invitedBy: { id: number; displayName: string } | null;
  note: string | null;
  controlRequested: boolean;
  createdAt: number;
  updatedAt: number;
  connectedAt: number | null;
  endedAt: number | null;
}

/**
 * Whether a participant row lets its technician read the ticket (its detail,
 * conversation and files): the user allowed them and they are in the session,
 * or they were in it and left on their own. An invitee not yet allowed, or
 * one the user refused or stopped, reads nothing.
 */
export function mayReadTicket(row: ParticipantRow): boolean {
  return row.state === 'connected' || (row.state === 'left' && row.connectedAt !== null);
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRow(r: Record<string, unknown>): ParticipantRow {
  const inviter = num(r.invited_by);
  return {
    id: Number(r.id),
    ticketId: Number(r.ticket_id),
    technicianId: Number(r.technician_id),
    displayName: (r.display_name as string | null) ?? '',
    mode: r.mode as ParticipantMode,
    kind: r.kind as ParticipantKind,
    state: r.state as ParticipantState,
    invitedBy: inviter === null ? null : { id: inviter, displayName: (r.inviter_name as string | null) ?? '' },
    note: (r.note as string | null) ?? null,
    controlRequested: Boolean(r.control_requested),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    connectedAt: num(r.connected_at),
    endedAt: num(r.ended_at),
  };
}

function joined(db: Knex) {
  return db('ticket_participants as p')
    .join('technicians as t', 't.id', 'p.technician_id')
    .leftJoin('technicians as i', 'i.id', 'p.invited_by')
    .select('p.*', 't.display_name as display_name', 'i.display_name as inviter_name');
}

export const isOpen = (state: ParticipantState): boolean => openParticipantStates.includes(state);

export function toParticipantView(row: ParticipantRow, holderId: number | null): ParticipantView {
  return {
    id: row.id,
    technicianId: row.technicianId,
    displayName: row.displayName,
    mode: row.mode,
    state: row.state,
    kind: row.kind,
    holder: holderId === row.technicianId && row.state === 'connected',
    invitedBy: row.invitedBy,
    note: row.note,
    controlRequested: row.controlRequested,
    createdAt: row.createdAt,
    connectedAt: row.connectedAt,
    endedAt: row.endedAt,
  };
}

export function toDesktopView(row: ParticipantRow): DesktopParticipantView {
  return {
    technicianId: row.technicianId,
    displayName: row.displayName,
    mode: row.mode,
    state: row.state,
    kind: row.kind,
    invitedBy: row.kind === 'supervise' ? null : (row.invitedBy?.displayName ?? null),
    channel: channelKey(row.ticketId, row.id),
    controlRequested: row.controlRequested,
  };
}

/** The holder's main channel is theirs unless they are a connected participant (promoted, handed over). */
export function mainChannelOpen(rows: readonly ParticipantRow[], holderId: number | null): boolean {
  return holderId === null || !rows.some((r) => r.technicianId === holderId && r.state === 'connected');
}

/** The user's list: every open row, and each technician's latest closed one (so a refusal or a stop is seen), in the order they came. */
export function desktopList(rows: readonly ParticipantRow[]): DesktopParticipantView[] {
  const latest = new Map<number, ParticipantRow>();
  for (const r of rows) {
    const before = latest.get(r.technicianId);
    if (!before || isOpen(r.state) || !isOpen(before.state)) latest.set(r.technicianId, r);
  }
  return [...latest.values()].sort((a, b) => a.id - b.id).map(toDesktopView);
}

export interface NewParticipant {
  ticketId: number;
  technicianId: number;
  mode: ParticipantMode;
  kind: ParticipantKind;
  state: ParticipantState;
  invitedBy: number | null;
  note: string | null;
  now: number;
}

export const participantStore = {
  async forTicket(db: Knex, ticketId: number): Promise<ParticipantRow[]> {
    return ((await joined(db).where('p.ticket_id', ticketId).orderBy('p.id')) as Record<string, unknown>[]).map(toRow);
  },

  async forTickets(db: Knex, ticketIds: readonly number[]): Promise<ParticipantRow[]> {
    if (ticketIds.length === 0) return [];
    return ((await joined(db).whereIn('p.ticket_id', ticketIds).orderBy('p.id')) as Record<string, unknown>[]).map(toRow);
  },

  async byId(db: Knex, id: number): Promise<ParticipantRow | null> {
    const r = (await joined(db).where('p.id', id).first()) as Record<string, unknown> | undefined;
    return r ? toRow(r) : null;
  },

  /** A technician's open row on a ticket, if any. */
  async openFor(db: Knex, ticketId: number, technicianId: number): Promise<ParticipantRow | null> {
    const r = (await joined(db).where({ 'p.ticket_id': ticketId, 'p.open_technician_id': technicianId }).first()) as Record<string, unknown> | undefined;
    return r ? toRow(r) : null;
  },

  async insert(db: Knex, p: NewParticipant): Promise<number> {
    const [id] = await db('ticket_participants').insert({
      ticket_id: p.ticketId,
      technician_id: p.technicianId,
      open_technician_id: isOpen(p.state) ? p.technicianId : null,
      mode: p.mode,
      kind: p.kind,
      state: p.state,
      invited_by: p.invitedBy,
      note: p.note,
      control_requested: false,
      created_at: p.now,
      updated_at: p.now,
      connected_at: p.state === 'connected' ? p.now : null,
      ended_at: null,
    });
    return Number(id);
  },

  /** Moves one row from one of `from` to `to` (with more columns); false when it was not in `from` any more. */
  async move(db: Knex, id: number, from: readonly ParticipantState[], to: ParticipantState, now: number, extra: Record<string, unknown> = {}): Promise<boolean> {
    const patch: Record<string, unknown> = { state: to, updated_at: now, control_requested: false, ...extra };
    if (!isOpen(to)) Object.assign(patch, { open_technician_id: null, ended_at: now });
    if (to === 'connected' && !('connected_at' in extra)) patch.connected_at = now;
    return (await db('ticket_participants').where({ id }).whereIn('state', from).update(patch)) === 1;
  },

  async update(db: Knex, id: number, patch: Record<string, unknown>): Promise<void> {
    await db('ticket_participants').where({ id }).update(patch);
  },

  /** The ticket closed (or went back to the queue): every open row is cancelled. */
  async closeOpen(db: Knex, ticketId: number, now: number): Promise<number> {
    return db('ticket_participants').where({ ticket_id: ticketId }).whereIn('state', openParticipantStates).update({ state: 'cancelled', open_technician_id: null, control_requested: false, ended_at: now, updated_at: now });
  },

  /** Every participant id a ticket ever had (their channels, to close with the ticket). */
  async ids(db: Knex, ticketId: number): Promise<number[]> {
    return ((await db('ticket_participants').where({ ticket_id: ticketId }).select('id')) as { id: number }[]).map((r) => Number(r.id));
  },
};
