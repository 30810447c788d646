// One audit event as the SIEM reads it: a JSON object with every field — who
// (type, id, name, role, how they signed in, the API token used), from which
// address, the action and its result, the ticket with its user and computer,
// the technician, the detail — and which server wrote it. The ticket's and the
// technician's facts are read after the commit, once per ticket (they do not
// change) and once a minute per technician, never on the request's path.
import type { Knex } from 'knex';
import type { CommittedAudit } from '../after-commit.ts';

export interface TicketFacts {
  /** The name the user gave, their account on the computer, the computer's name and system, their address. */
  user: string;
  osUser: string;
  computer: string;
  os: string;
  address: string;
  createdAt: number;
}

export interface AuditLine {
  type: 'audit';
  id: number;
  time: string;
  action: string;
  result: 'success' | 'failure';
  reason: string | null;
  actor: { type: string; id: number | null; name: string; role: string | null; signIn: string | null; token: { id: number; name: string } | null };
  address: string;
  ticket: ({ id: number } & Partial<TicketFacts>) | null;
  technician: { id: number; username: string | null } | null;
  detail: Record<string, unknown> | null;
  server: string;
}

/** Actions that record something refused or gone wrong (the rest record what was done). */
const FAILURE = /\.(failed|locked|slowed|refused|declined|incomplete|not_recorded)$|^session\..*_closed$/;

export function auditLine(e: CommittedAudit, facts: { ticket: TicketFacts | null; technician: string | null }, server: string): AuditLine {
  const { actor, remoteAddress } = e.context;
  const reason = typeof e.detail?.reason === 'string' ? e.detail.reason : null;
  return {
    type: 'audit',
    id: e.id,
    time: new Date(e.at).toISOString(),
    action: e.action,
    result: FAILURE.test(e.action) ? 'failure' : 'success',
    reason,
    actor: {
      type: actor.type,
      id: actor.type === 'technician' ? actor.id : null,
      name: actor.name,
      role: actor.type === 'technician' ? actor.role : null,
      // A login's own event says how (its detail's method); a technician's request says its session's or token's.
      signIn: (actor.type === 'technician' ? (actor.signIn ?? (actor.via ? 'api_token' : null)) : null) ?? (typeof e.detail?.method === 'string' ? e.detail.method : null),
      token: actor.type === 'technician' && actor.via ? { id: actor.via.tokenId, name: actor.via.tokenName } : null,
    },
    address: remoteAddress,
    ticket: e.ticketId === null ? null : { id: e.ticketId, ...(facts.ticket ?? {}) },
    technician: e.technicianId === null ? null : { id: e.technicianId, username: facts.technician },
    detail: e.detail,
    server,
  };
}

const TICKETS_KEPT = 5_000;
const TECHNICIAN_FRESH_MS = 60_000;

/** Reads (and keeps) the facts a line names beside the audit row. */
export function createFactsReader(db: Knex) {
  const tickets = new Map<number, TicketFacts>();
  const technicians = new Map<number, { username: string | null; readAt: number }>();
  return {
    async ticket(id: number | null): Promise<TicketFacts | null> {
      if (id === null) return null;
      const kept = tickets.get(id);
      if (kept) return kept;
      const row = (await db('tickets').where({ id }).first('requester_name', 'username', 'hostname', 'os', 'requester_address', 'created_at')) as
        | { requester_name: string; username: string; hostname: string; os: string; requester_address: string; created_at: number | string }
        | undefined;
      if (!row) return null;
      const facts = { user: row.requester_name, osUser: row.username, computer: row.hostname, os: row.os, address: row.requester_address, createdAt: Number(row.created_at) };
      if (tickets.size >= TICKETS_KEPT) tickets.delete(tickets.keys().next().value as number);
      tickets.set(id, facts);
      return facts;
    },
    async technician(id: number | null, now: number): Promise<string | null> {
      if (id === null) return null;
      const kept = technicians.get(id);
      if (kept && now - kept.readAt < TECHNICIAN_FRESH_MS) return kept.username;
      const row = (await db('technicians').where({ id }).first('username')) as { username: string } | undefined;
      if (technicians.size >= TICKETS_KEPT) technicians.delete(technicians.keys().next().value as number);
      technicians.set(id, { username: row?.username ?? null, readAt: now });
      return row?.username ?? null;
    },
  };
}

export type FactsReader = ReturnType<typeof createFactsReader>;
