// The webhook outbox's writer: called by insertAuditEvent (server/audit/store.ts)
// in the transaction of the change, it writes one delivery row per enabled
// endpoint subscribed to the event. The endpoints' rows are locked by the
// bump of their `next_seq` (in id order, always before the event outbox's
// head, which bus.record locks last), so an endpoint's deliveries are
// numbered in commit order with no holes: a worker that sends seq N has seen
// every delivery before it. Past WEBHOOK_MAX_PENDING waiting deliveries an
// event is not queued for that endpoint: it is counted on the endpoint
// (`overflowed`, since when) and said once in the audit log and on the page.
import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import type { WebhookPayload } from '../../protocol/webhooks.ts';
import { newMessageId } from './signing.ts';

/** Wakes this process's webhook worker once a transaction with deliveries commits. */
export const webhookWakeups = new EventEmitter();
webhookWakeups.setMaxListeners(0);

/** WEBHOOK_MAX_PENDING by database handle (one per server; its transactions share the client's config object). */
const limits = new WeakMap<object, { maxPending: number }>();
const DEFAULT_MAX_PENDING = 10_000;
const keyOf = (db: Knex): object => (db.client as { config: object }).config;
export function setWebhookLimits(db: Knex, next: { maxPending: number }): void {
  limits.set(keyOf(db), next);
}

interface EndpointRow {
  id: number | string;
  events: string;
  next_seq: number | string;
  due_at: number | string | null;
  overflowed: number | string;
}

/** What insertAuditEvent writes an audit row with: the audit insert then this, in `trx`. */
export type AuditOverflowNote = (trx: Knex.Transaction, endpointId: number, url: string, at: number) => Promise<void>;

/**
 * Queues `payload` for every enabled endpoint that subscribed to its type (or
 * only `onlyEndpointId`, for a test or a send-again). Returns the delivery
 * rows written, by endpoint. `trx` must be the change's transaction.
 */
export async function enqueueWebhook(
  trx: Knex.Transaction,
  payload: WebhookPayload,
  at: number,
  options: { onlyEndpointId?: number; messageId?: string; resentFrom?: number; onOverflow?: AuditOverflowNote } = {},
): Promise<{ endpointId: number; deliveryId: number }[]> {
  const q = trx('webhook_endpoints').select('id', 'events').orderBy('id', 'asc');
  if (options.onlyEndpointId === undefined) q.where({ enabled: true });
  else q.where({ id: options.onlyEndpointId });
  const candidates = ((await q) as { id: number | string; events: string }[]).filter((e) => options.onlyEndpointId !== undefined || e.events.split(' ').includes(payload.type));
  if (candidates.length === 0) return [];
  const ids = candidates.map((e) => Number(e.id));
  // Locks the rows (in id order) until the commit: the next transaction's numbers come after these.
  await trx('webhook_endpoints').whereIn('id', ids).update({ next_seq: trx.raw('next_seq + 1') });
  const rows = (await trx('webhook_endpoints').whereIn('id', ids).orderBy('id', 'asc').select('id', 'url', 'events', 'next_seq', 'due_at', 'overflowed')) as (EndpointRow & { url: string })[];
  const body = boundedBody(payload);
  const messageId = options.messageId ?? newMessageId();
  const written: { endpointId: number; deliveryId: number }[] = [];
  const maxPending = limits.get(keyOf(trx))?.maxPending ?? DEFAULT_MAX_PENDING;
  for (const row of rows) {
    const endpointId = Number(row.id);
    const seq = Number(row.next_seq);
    const waiting = await pendingCount(trx, endpointId);
    if (waiting >= maxPending) {
      // Not queued: counted and said (the first time since the queue had room), never dropped without a word.
      const first = Number(row.overflowed) === 0;
      await trx('webhook_endpoints').where({ id: endpointId }).update({ overflowed: trx.raw('overflowed + 1'), ...(first ? { overflow_since: at } : {}), next_seq: trx.raw('next_seq - 1') });
      if (first) await options.onOverflow?.(trx, endpointId, row.url, at);
      continue;
    }
    const [inserted] = await trx('webhook_deliveries').insert({
      endpoint_id: endpointId,
      seq,
      message_id: messageId,
      event: payload.type,
      payload: body,
      state: 'pending',
      attempts: 0,
      created_at: at,
      next_attempt_at: at,
      resent_from: options.resentFrom ?? null,
    }).returning('id') as unknown as ({ id: number | string } | number)[];
    const deliveryId = typeof inserted === 'object' ? Number(inserted.id) : Number(inserted);
    if (row.due_at === null) await trx('webhook_endpoints').where({ id: endpointId }).update({ due_at: at });
    written.push({ endpointId, deliveryId });
  }
  if (written.length) {
    trx.executionPromise.then(
      () => webhookWakeups.emit('wake'),
      (_rolledBack: unknown) => undefined, // nothing was queued
    );
  }
  return written;
}

async function pendingCount(db: Knex, endpointId: number): Promise<number> {
  const row = (await db('webhook_deliveries').where({ endpoint_id: endpointId, state: 'pending' }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** The largest body a delivery carries; a bigger one keeps only the common fields and says it was cut. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export function boundedBody(payload: WebhookPayload): string {
  const body = JSON.stringify(payload);
  if (Buffer.byteLength(body) <= MAX_PAYLOAD_BYTES) return body;
  const { ticketId, technicianId, actor } = payload.data;
  return JSON.stringify({ ...payload, data: { ticketId, technicianId, actor: { type: actor.type, name: actor.name.slice(0, 200) }, truncated: true } });
}
