// Audit events: append-only rows, read back per ticket or filtered for admins.
import type { Knex } from 'knex';
import { systemActor, type ActorContext } from './actor.ts';
import { payloadOf } from '../webhooks/events.ts';
import { enqueueWebhook } from '../webhooks/outbox.ts';
import { afterAuditInsert } from './after-commit.ts';

export interface AuditEventRow {
  id: number;
  at: number;
  actor_type: string;
  actor_id: number | null;
  actor_name: string;
  action: string;
  ticket_id: number | null;
  technician_id: number | null;
  remote_address: string;
  detail: string | null;
  api_token_id?: number | null;
  api_token_name?: string | null;
}

export interface AuditEvent {
  id: number;
  at: number;
  actorType: string;
  actorId: number | null;
  actorName: string;
  action: string;
  ticketId: number | null;
  technicianId: number | null;
  remoteAddress: string;
  detail: Record<string, unknown> | null;
  /** The API token the actor used (null: a web session, or not a technician). */
  viaToken: { id: number; name: string } | null;
}

export interface AuditQuery {
  ticketId?: number;
  action?: string;
  actorName?: string;
  from?: number;
  to?: number;
  beforeId?: number;
  limit: number;
}

export async function insertAuditEvent(
  db: Knex,
  at: number,
  context: ActorContext,
  action: string,
  refs: { ticketId?: number | null; technicianId?: number | null },
  detail?: Record<string, unknown>,
): Promise<void> {
  const { actor } = context;
  // Webhooks (issue 28): an action that is a webhook event queues its deliveries with this row, in one transaction.
  const payload = payloadOf({ at, action, actor: { type: actor.type, name: actor.name }, remoteAddress: context.remoteAddress, ticketId: refs.ticketId ?? null, technicianId: refs.technicianId ?? null, detail });
  if (payload && !db.isTransaction) return db.transaction((trx) => insertAuditEvent(trx, at, context, action, refs, detail));
  const [id] = await db('audit_events').insert({
    at,
    actor_type: actor.type,
    actor_id: actor.type === 'technician' ? actor.id : null,
    actor_name: actor.name.slice(0, 120),
    action,
    ticket_id: refs.ticketId ?? null,
    technician_id: refs.technicianId ?? null,
    remote_address: context.remoteAddress.slice(0, 64),
    detail: detail ? JSON.stringify(detail) : null,
    ...(actor.type === 'technician' && actor.via ? { api_token_id: actor.via.tokenId, api_token_name: actor.via.tokenName.slice(0, 80) } : {}),
  });
  if (payload) await enqueueWebhook(db as Knex.Transaction, payload, at, { onOverflow: (trx, endpointId, url, when) => insertAuditEvent(trx, when, systemActor('webhooks'), 'webhook.overflowed', {}, { endpointId, url }) });
  // The SIEM and the metrics hear of it once it is committed (after-commit.ts).
  afterAuditInsert(db, { id: Number(id), at, context, action, ticketId: refs.ticketId ?? null, technicianId: refs.technicianId ?? null, detail: detail ?? null });
}

export async function listAuditEvents(db: Knex, filter: AuditQuery): Promise<AuditEvent[]> {
  const q = db<AuditEventRow>('audit_events').select('*');
  if (filter.ticketId !== undefined) q.where('ticket_id', filter.ticketId);
  if (filter.action) q.where('action', filter.action);
  if (filter.actorName) q.where('actor_name', filter.actorName);
  if (filter.from !== undefined) q.where('at', '>=', filter.from);
  if (filter.to !== undefined) q.where('at', '<', filter.to);
  if (filter.beforeId !== undefined) q.where('id', '<', filter.beforeId);
  // The per-ticket timeline reads oldest first; the log reads newest first.
  if (filter.ticketId !== undefined) q.orderBy('id', 'asc');
  else q.orderBy('id', 'desc');
  const rows = await q.limit(filter.limit);
  return rows.map(toAuditEvent);
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    actorType: row.actor_type,
    actorId: row.actor_id === null ? null : Number(row.actor_id),
    actorName: row.actor_name,
    action: row.action,
    ticketId: row.ticket_id === null ? null : Number(row.ticket_id),
    technicianId: row.technician_id === null ? null : Number(row.technician_id),
    remoteAddress: row.remote_address,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
    viaToken: row.api_token_id == null ? null : { id: Number(row.api_token_id), name: row.api_token_name ?? '' },
  };
}
