// Webhook endpoints and deliveries (migration 025): plain rows in, views out.
// Delivery states: 'pending' (waiting, or between retries), 'delivered'
// (answered 2xx), 'failed' (given up on after WEBHOOK_RETRY_FOR_MS).
import type { Knex } from 'knex';
import type { WebhookDeliveryState, WebhookEvent, WebhookHealth } from '../../protocol/webhooks.ts';

export interface EndpointRow {
  id: number;
  url: string;
  events: string;
  secret_sealed: string;
  description: string;
  enabled: boolean | number;
  health: WebhookHealth;
  failing_since: number | string | null;
  failing_reason: string | null;
  next_seq: number | string;
  due_at: number | string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
  overflowed: number | string;
  overflow_since: number | string | null;
  created_by: number | null;
  created_at: number | string;
  updated_at: number | string;
}

export interface DeliveryRow {
  id: number | string;
  endpoint_id: number | string;
  seq: number | string;
  message_id: string;
  event: string;
  payload: string;
  state: WebhookDeliveryState;
  attempts: number | string;
  created_at: number | string;
  first_attempt_at: number | string | null;
  last_attempt_at: number | string | null;
  next_attempt_at: number | string | null;
  delivered_at: number | string | null;
  response_status: number | string | null;
  last_error: string | null;
  resent_from: number | string | null;
}

export interface WebhookEndpointView {
  id: number;
  url: string;
  events: WebhookEvent[];
  description: string;
  enabled: boolean;
  health: WebhookHealth;
  failingSince: number | null;
  failingReason: string | null;
  /** Deliveries waiting (pending). */
  pending: number;
  /** Events not queued because WEBHOOK_MAX_PENDING were waiting, since overflowSince. */
  overflowed: number;
  overflowSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDeliveryView {
  id: number;
  endpointId: number;
  seq: number;
  messageId: string;
  event: string;
  state: WebhookDeliveryState;
  attempts: number;
  createdAt: number;
  firstAttemptAt: number | null;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  responseStatus: number | null;
  lastError: string | null;
  resentFrom: number | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toEndpointView(row: EndpointRow, pending: number): WebhookEndpointView {
  return {
    id: Number(row.id),
    url: row.url,
    events: row.events.split(' ').filter(Boolean) as WebhookEvent[],
    description: row.description,
    enabled: Boolean(row.enabled),
    health: row.health,
    failingSince: num(row.failing_since),
    failingReason: row.failing_reason,
    pending,
    overflowed: Number(row.overflowed),
    overflowSince: num(row.overflow_since),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toDeliveryView(row: DeliveryRow): WebhookDeliveryView {
  return {
    id: Number(row.id),
    endpointId: Number(row.endpoint_id),
    seq: Number(row.seq),
    messageId: row.message_id,
    event: row.event,
    state: row.state,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    firstAttemptAt: num(row.first_attempt_at),
    lastAttemptAt: num(row.last_attempt_at),
    nextAttemptAt: row.state === 'pending' ? num(row.next_attempt_at) : null,
    deliveredAt: num(row.delivered_at),
    responseStatus: num(row.response_status),
    lastError: row.last_error,
    resentFrom: num(row.resent_from),
  };
}

export const webhookStore = {
  async endpoints(db: Knex): Promise<EndpointRow[]> {
    return (await db('webhook_endpoints').orderBy('id', 'asc').select('*')) as EndpointRow[];
  },

  async endpoint(db: Knex, id: number): Promise<EndpointRow | undefined> {
    return (await db('webhook_endpoints').where({ id }).first()) as EndpointRow | undefined;
  },

  async endpointForUpdate(trx: Knex.Transaction, id: number): Promise<EndpointRow | undefined> {
    return (await trx('webhook_endpoints').where({ id }).forUpdate().first()) as EndpointRow | undefined;
  },

  async countEndpoints(db: Knex): Promise<number> {
    return Number(((await db('webhook_endpoints').count({ n: '*' }).first()) as { n: number | string }).n);
  },

  /** Pending deliveries by endpoint. */
  async pendingByEndpoint(db: Knex): Promise<Map<number, number>> {
    const rows = (await db('webhook_deliveries').where({ state: 'pending' }).groupBy('endpoint_id').select('endpoint_id').count({ n: '*' })) as { endpoint_id: number | string; n: number | string }[];
    return new Map(rows.map((r) => [Number(r.endpoint_id), Number(r.n)]));
  },

  /** An endpoint's deliveries, newest first; `beforeSeq` pages to older ones. */
  async deliveries(db: Knex, endpointId: number, limit: number, beforeSeq?: number): Promise<DeliveryRow[]> {
    const q = db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('seq', 'desc').limit(limit).select('*');
    if (beforeSeq !== undefined) q.where('seq', '<', beforeSeq);
    return (await q) as DeliveryRow[];
  },

  async delivery(db: Knex, endpointId: number, id: number): Promise<DeliveryRow | undefined> {
    return (await db('webhook_deliveries').where({ endpoint_id: endpointId, id }).first()) as DeliveryRow | undefined;
  },

  /** The endpoint's first pending delivery: the one to send next (later ones wait behind it). */
  async head(db: Knex, endpointId: number): Promise<DeliveryRow | undefined> {
    return (await db('webhook_deliveries').where({ endpoint_id: endpointId, state: 'pending' }).orderBy('seq', 'asc').first()) as DeliveryRow | undefined;
  },
};
