// Administrators' webhooks: endpoints (register with a secret shown once,
// list, change, disable, resume, delete), a test delivery, the delivery log
// and "send again". Every change is audited in its transaction.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { ActorContext } from '../audit/actor.ts';
import { webhookTestEvent, type WebhookEvent, type WebhookPayload } from '../../protocol/webhooks.ts';
import type { WebhookOptions } from './config.ts';
import { resolveChecked } from './outbound.ts';
import { enqueueWebhook } from './outbox.ts';
import { newSecret, type WebhookSecrets } from './signing.ts';
import { toDeliveryView, toEndpointView, webhookStore, type EndpointRow, type WebhookDeliveryView, type WebhookEndpointView } from './store.ts';

export interface NewWebhook {
  url: string;
  events: WebhookEvent[];
  secret?: string | undefined;
  description?: string | undefined;
}

export interface WebhookChange {
  url?: string | undefined;
  events?: WebhookEvent[] | undefined;
  secret?: string | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
}

/** Rows of a delivery log page. */
export const DELIVERY_PAGE = 50;

export type WebhookService = ReturnType<typeof createWebhookService>;

export function createWebhookService({ db, clock, options, secrets }: { db: Knex; clock: Clock; options: WebhookOptions; secrets: WebhookSecrets }) {
  /** A URL whose host is (or resolves to) an address webhooks may not reach is refused now, in words; one not resolvable yet is let through (each attempt checks again). */
  async function checkUrl(url: string): Promise<void> {
    if (options.allowPrivate) return;
    try {
      await resolveChecked(new URL(url), false);
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith('refused')) throw new AppError('WEBHOOK_URL_REFUSED', `This URL is refused: ${message.replace(/^refused: /, '')}`, { url });
    }
  }

  async function mustGet(trx: Knex.Transaction, id: number): Promise<EndpointRow> {
    const row = await webhookStore.endpointForUpdate(trx, id);
    if (!row) throw new AppError('WEBHOOK_NOT_FOUND', `No webhook endpoint ${id}`);
    return row;
  }

  async function view(dbOrTrx: Knex, id: number): Promise<WebhookEndpointView> {
    const row = await webhookStore.endpoint(dbOrTrx, id);
    if (!row) throw new AppError('WEBHOOK_NOT_FOUND', `No webhook endpoint ${id}`);
    return toEndpointView(row, (await webhookStore.pendingByEndpoint(dbOrTrx)).get(id) ?? 0);
  }

  /** Queues one payload for one endpoint (a test, a send-again); refused when its queue is full. */
  async function queueOne(trx: Knex.Transaction, endpointId: number, payload: WebhookPayload, now: number, repeat?: { messageId: string; resentFrom: number }): Promise<number> {
    const written = await enqueueWebhook(trx, payload, now, { onlyEndpointId: endpointId, ...(repeat ?? {}) });
    if (!written[0]) throw new AppError('WEBHOOK_QUEUE_FULL', `Endpoint ${endpointId} already has ${options.maxPending} deliveries waiting (WEBHOOK_MAX_PENDING): let them go through first`, { max: options.maxPending });
    return written[0].deliveryId;
  }

  /** Housekeeping: deletes delivered and given-up deliveries older than WEBHOOK_KEEP_DAYS, a thousand at a time, at most 20,000 a round. */
  async function purgeOld(): Promise<number> {
    const before = clock.now() - options.keepMs;
    let purged = 0;
    for (let round = 0; round < 20; round++) {
      const ids = (await db('webhook_deliveries').whereIn('state', ['delivered', 'failed']).where('created_at', '<', before).orderBy('created_at').limit(1_000).pluck('id')) as number[];
      if (!ids.length) break;
      purged += await db('webhook_deliveries').whereIn('id', ids).delete();
      if (ids.length < 1_000) break;
    }
    return purged;
  }

  return {
    purgeOld,
    async list(): Promise<WebhookEndpointView[]> {
      const [rows, pending] = await Promise.all([webhookStore.endpoints(db), webhookStore.pendingByEndpoint(db)]);
      return rows.map((r) => toEndpointView(r, pending.get(Number(r.id)) ?? 0));
    },

    get: (id: number) => view(db, id),

    /** Enabled endpoints marked failing (every administrator's page says so). */
    async failingCount(): Promise<number> {
      const row = (await db('webhook_endpoints').where({ health: 'failing', enabled: true }).count({ n: '*' }).first()) as { n: number | string } | undefined;
      return Number(row?.n ?? 0);
    },

    /** Registers an endpoint; the answer holds its secret, shown this once. */
    async create(input: NewWebhook, by: ActorContext): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
      await checkUrl(input.url);
      const secret = input.secret ?? newSecret();
      const now = clock.now();
      const id = await db.transaction(async (trx) => {
        // The bound holds under concurrent requests: every endpoint row is locked while counting.
        const existing = await trx('webhook_endpoints').forUpdate().select('id');
        if (existing.length >= options.maxEndpoints) {
          throw new AppError('TOO_MANY_WEBHOOKS', `There are already ${existing.length} webhook endpoints (WEBHOOK_MAX_ENDPOINTS is ${options.maxEndpoints}): delete one first`, { max: options.maxEndpoints });
        }
        const [inserted] = (await trx('webhook_endpoints').insert({
          url: input.url, events: input.events.join(' '), secret_sealed: '', description: input.description ?? '', enabled: true, health: 'ok',
          next_seq: 0, overflowed: 0, created_by: by.actor.type === 'technician' ? by.actor.id : null, created_at: now, updated_at: now,
        }).returning('id')) as unknown as ({ id: number | string } | number)[];
        const newId = typeof inserted === 'object' ? Number(inserted.id) : Number(inserted);
        // Sealed bound to its endpoint's id: it opens for no other row.
        await trx('webhook_endpoints').where({ id: newId }).update({ secret_sealed: secrets.seal(secret, newId) });
        await insertAuditEvent(trx, now, by, 'webhook.created', {}, { endpointId: newId, url: input.url, events: input.events.join(' '), secretGiven: input.secret !== undefined });
        return newId;
      });
      return { endpoint: await view(db, id), secret };
    },

    async update(id: number, change: WebhookChange, by: ActorContext): Promise<WebhookEndpointView> {
      if (change.url !== undefined) await checkUrl(change.url);
      const now = clock.now();
      await db.transaction(async (trx) => {
        const before = await mustGet(trx, id);
        const patch: Record<string, unknown> = { updated_at: now };
        if (change.url !== undefined) patch.url = change.url;
        if (change.events !== undefined) patch.events = change.events.join(' ');
        if (change.description !== undefined) patch.description = change.description;
        if (change.secret !== undefined) patch.secret_sealed = secrets.seal(change.secret, id);
        if (change.enabled !== undefined) patch.enabled = change.enabled;
        // Enabled again with deliveries waiting: they are due now.
        if (change.enabled === true && !before.enabled) patch.due_at = now;
        await trx('webhook_endpoints').where({ id }).update(patch);
        const action = change.enabled === false && before.enabled ? 'webhook.disabled' : change.enabled === true && !before.enabled ? 'webhook.enabled' : 'webhook.updated';
        const changed = Object.keys(change).filter((k) => change[k as keyof WebhookChange] !== undefined).join(' ');
        await insertAuditEvent(trx, now, by, action, {}, { endpointId: id, url: change.url ?? before.url, changed });
      });
      return view(db, id);
    },

    /** A failing endpoint goes on from its next delivery (the failed one stays failed: "send again" repeats it); the count of events not queued starts again. */
    async resume(id: number, by: ActorContext): Promise<WebhookEndpointView> {
      const now = clock.now();
      await db.transaction(async (trx) => {
        const before = await mustGet(trx, id);
        await trx('webhook_endpoints').where({ id }).update({ health: 'ok', failing_since: null, failing_reason: null, overflowed: 0, overflow_since: null, due_at: now, updated_at: now });
        await insertAuditEvent(trx, now, by, 'webhook.resumed', {}, { endpointId: id, url: before.url, overflowed: Number(before.overflowed) });
      });
      return view(db, id);
    },

    async remove(id: number, by: ActorContext): Promise<void> {
      const now = clock.now();
      await db.transaction(async (trx) => {
        const before = await mustGet(trx, id);
        await trx('webhook_deliveries').where({ endpoint_id: id }).delete();
        await trx('webhook_endpoints').where({ id }).delete();
        await insertAuditEvent(trx, now, by, 'webhook.deleted', {}, { endpointId: id, url: before.url });
      });
    },

    /** Queues a `webhook.test` delivery to this endpoint alone (after what it already waits for). */
    async test(id: number, by: ActorContext): Promise<WebhookDeliveryView> {
      const now = clock.now();
      const deliveryId = await db.transaction(async (trx) => {
        const before = await mustGet(trx, id);
        const actor = { type: by.actor.type, name: by.actor.name };
        const payload = { type: webhookTestEvent, timestamp: new Date(now).toISOString(), data: { ticketId: null, technicianId: null, actor, endpointId: id } } satisfies WebhookPayload;
        const queued = await queueOne(trx, id, payload, now);
        await insertAuditEvent(trx, now, by, 'webhook.tested', {}, { endpointId: id, url: before.url, deliveryId: queued });
        return queued;
      });
      return toDeliveryView((await webhookStore.delivery(db, id, deliveryId))!);
    },

    /** An endpoint's deliveries, newest first. */
    async deliveries(id: number, beforeSeq?: number): Promise<{ deliveries: WebhookDeliveryView[]; nextBeforeSeq: number | null }> {
      if (!(await webhookStore.endpoint(db, id))) throw new AppError('WEBHOOK_NOT_FOUND', `No webhook endpoint ${id}`);
      const rows = (await webhookStore.deliveries(db, id, DELIVERY_PAGE, beforeSeq)).map(toDeliveryView);
      return { deliveries: rows, nextBeforeSeq: rows.length === DELIVERY_PAGE ? (rows.at(-1)?.seq ?? null) : null };
    },

    /** Queues a delivery again, at the end of the endpoint's queue, with the same webhook-id (a receiver that had it drops the repeat). */
    async resend(id: number, deliveryId: number, by: ActorContext): Promise<WebhookDeliveryView> {
      const now = clock.now();
      const newId = await db.transaction(async (trx) => {
        const endpoint = await mustGet(trx, id);
        const original = await webhookStore.delivery(trx, id, deliveryId);
        if (!original) throw new AppError('WEBHOOK_DELIVERY_NOT_FOUND', `Endpoint ${id} has no delivery ${deliveryId}`);
        const queued = await queueOne(trx, id, JSON.parse(original.payload) as WebhookPayload, now, { messageId: original.message_id, resentFrom: deliveryId });
        await insertAuditEvent(trx, now, by, 'webhook.resent', {}, { endpointId: id, url: endpoint.url, deliveryId, newDeliveryId: queued, event: original.event });
        return queued;
      });
      return toDeliveryView((await webhookStore.delivery(db, id, newId))!);
    },
  };
}
