// Each server's webhook worker. An endpoint is sent by one server at a time
// in the whole deployment: the one whose conditional UPDATE took its lease
// (lease_owner, lease_until); a server that dies mid-attempt frees it when
// the lease runs out. The endpoint's deliveries go in seq order: the first
// pending one is sent; while it is retried (exponential backoff with jitter,
// WEBHOOK_RETRY_*), the later ones wait behind it. Given up on after
// WEBHOOK_RETRY_FOR_MS from its first attempt: the delivery is `failed`, the
// endpoint `failing` (its later deliveries held until an administrator
// resumes it), and the audit log says so.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { systemActor } from '../audit/actor.ts';
import type { WebhookOptions } from './config.ts';
import { postWebhook, type AttemptResult } from './outbound.ts';
import { signatureHeaders, type WebhookSecrets } from './signing.ts';
import { webhookStore, type DeliveryRow, type EndpointRow } from './store.ts';
import { webhookWakeups } from './outbox.ts';

/** Endpoints sent at once by one server. */
const PARALLEL_ENDPOINTS = 8;

export interface WebhookWorkerDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  options: WebhookOptions;
  secrets: WebhookSecrets;
  /** After a commit that marked an endpoint failing (a live notice to administrators). */
  onFailing?: (endpointId: number) => void;
}

/** The wait before retry number `attempts` (1: after the first failure), with jitter: between half and all of the doubled wait. */
export function backoffMs(attempts: number, retry: WebhookOptions['retry'], random = Math.random): number {
  const base = Math.min(retry.maxMs, retry.firstMs * 2 ** Math.min(30, attempts - 1));
  return Math.round(base / 2 + (base / 2) * random());
}

export interface WebhookWorker {
  /** Looks for due deliveries now (also on a timer and at each wake-up). */
  kick(): void;
  /** Stops: in-flight attempts are aborted (unrecorded, their lease freed: another server sends them again). */
  close(): Promise<void>;
}

export function startWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const { db, clock, options } = deps;
  const log = deps.logger.child({ component: 'webhooks' });
  const owner = randomUUID();
  const stop = new AbortController();
  let running: Promise<void> | null = null;
  let again = false;

  const kick = (): void => {
    if (stop.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = round()
      .catch((err: unknown) => log.error({ err }, 'webhook round failed'))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          kick();
        }
      });
  };

  async function round(): Promise<void> {
    const now = clock.now();
    const due = ((await db('webhook_endpoints')
      .where({ enabled: true, health: 'ok' })
      .andWhere('due_at', '<=', now)
      .andWhere((q) => void q.whereNull('lease_until').orWhere('lease_until', '<', now))
      .orderBy('due_at', 'asc')
      .limit(PARALLEL_ENDPOINTS)
      .select('id')) as { id: number | string }[]).map((r) => Number(r.id));
    await Promise.all(due.map((id) => claimAndSend(id)));
  }

  async function claim(id: number): Promise<boolean> {
    const now = clock.now();
    const won = await db('webhook_endpoints')
      .where({ id, enabled: true, health: 'ok' })
      .andWhere('due_at', '<=', now)
      .andWhere((q) => void q.whereNull('lease_until').orWhere('lease_until', '<', now).orWhere('lease_owner', owner))
      .update({ lease_owner: owner, lease_until: now + options.leaseMs });
    return won === 1;
  }

  const release = (id: number, dueAt: number | null): Promise<number> =>
    db('webhook_endpoints').where({ id, lease_owner: owner }).update({ lease_owner: null, lease_until: null, due_at: dueAt });

  async function claimAndSend(id: number): Promise<void> {
    if (!(await claim(id))) return; // another server has it, or it is no longer due
    for (;;) {
      if (stop.signal.aborted) return void (await release(id, clock.now()));
      const endpoint = await webhookStore.endpoint(db, id);
      if (!endpoint || !endpoint.enabled || endpoint.health !== 'ok' || endpoint.lease_owner !== owner) return;
      const head = await webhookStore.head(db, id);
      if (!head) {
        // Nothing pending: due_at cleared unless a delivery committed meanwhile (its writer set due_at; it is read under the row lock).
        await db.transaction(async (trx) => {
          await trx('webhook_endpoints').where({ id }).forUpdate().first('id');
          const late = await webhookStore.head(trx, id);
          await trx('webhook_endpoints').where({ id, lease_owner: owner }).update({ lease_owner: null, lease_until: null, due_at: late ? Number(late.next_attempt_at ?? clock.now()) : null });
        });
        return;
      }
      const dueAt = Number(head.next_attempt_at ?? 0);
      if (dueAt > clock.now()) return void (await release(id, dueAt));
      // The lease covers this attempt and the writing of its outcome.
      const renewed = await db('webhook_endpoints').where({ id, lease_owner: owner }).update({ lease_until: clock.now() + options.leaseMs });
      if (renewed !== 1) return;
      const result = await attempt(endpoint, head);
      if (stop.signal.aborted) return void (await release(id, clock.now()));
      const next = await record(endpoint, head, result);
      if (next === 'stop') return;
    }
  }

  async function attempt(endpoint: EndpointRow, head: DeliveryRow): Promise<AttemptResult> {
    let secret: string;
    try {
      secret = deps.secrets.open(endpoint.secret_sealed, Number(endpoint.id));
    } catch (err) {
      return { ok: false, status: null, error: `the endpoint's secret cannot be opened (${(err as Error).message}): check SECRETS_KEY` };
    }
    const headers = signatureHeaders(secret, head.message_id, Math.floor(clock.now() / 1000), head.payload);
    return postWebhook(endpoint.url, headers, head.payload, { allowPrivate: options.allowPrivate, connectTimeoutMs: options.connectTimeoutMs, timeoutMs: options.timeoutMs, signal: stop.signal });
  }

  /** Writes an attempt's outcome; says whether to go on with the next delivery. */
  async function record(endpoint: EndpointRow, head: DeliveryRow, result: AttemptResult): Promise<'next' | 'stop'> {
    const id = Number(endpoint.id);
    const now = clock.now();
    const attempts = Number(head.attempts) + 1;
    const firstAttemptAt = head.first_attempt_at === null ? now : Number(head.first_attempt_at);
    let failing = false;
    const outcome = await db.transaction(async (trx) => {
      // The endpoint's row first (as the outbox's writers lock it), then the delivery.
      const locked = (await trx('webhook_endpoints').where({ id }).forUpdate().first('lease_owner')) as { lease_owner: string | null } | undefined;
      if (!locked) return 'stop' as const; // deleted meanwhile
      const common = { attempts, first_attempt_at: firstAttemptAt, last_attempt_at: now, response_status: result.status, last_error: result.error?.slice(0, 500) ?? null };
      const where = { id: Number(head.id), state: 'pending', attempts: Number(head.attempts) };
      if (result.ok) {
        await trx('webhook_deliveries').where(where).update({ ...common, state: 'delivered', delivered_at: now });
        return 'next' as const;
      }
      const giveUpAt = firstAttemptAt + options.retry.forMs;
      if (now >= giveUpAt) {
        await trx('webhook_deliveries').where(where).update({ ...common, state: 'failed' });
        const reason = `delivery ${head.id} (${head.event}) was not accepted for ${options.retry.forMs % 60_000 === 0 ? `${options.retry.forMs / 60_000} min` : `${Math.round(options.retry.forMs / 1000)} s`}: ${result.error ?? 'no answer'}`.slice(0, 500);
        await trx('webhook_endpoints').where({ id }).update({ health: 'failing', failing_since: now, failing_reason: reason, due_at: null, lease_owner: null, lease_until: null });
        await insertAuditEvent(trx, now, systemActor('webhooks'), 'webhook.failing', {}, { endpointId: id, url: endpoint.url, deliveryId: Number(head.id), attempts, problem: result.error ?? '' });
        failing = true;
        return 'stop' as const;
      }
      const nextAttemptAt = Math.min(giveUpAt, now + backoffMs(attempts, options.retry));
      await trx('webhook_deliveries').where(where).update({ ...common, next_attempt_at: nextAttemptAt });
      await trx('webhook_endpoints').where({ id, lease_owner: owner }).update({ due_at: nextAttemptAt, lease_owner: null, lease_until: null });
      return 'stop' as const;
    });
    if (result.ok) log.debug({ endpointId: id, deliveryId: Number(head.id), status: result.status }, 'webhook delivered');
    else log.warn({ endpointId: id, deliveryId: Number(head.id), attempts, error: result.error }, failing ? 'webhook endpoint failing: delivery given up' : 'webhook attempt failed; retried later');
    if (failing) deps.onFailing?.(id);
    if (outcome === 'stop') later();
    return outcome;
  }

  // A retry falls due between polls: look again then.
  let laterTimer: NodeJS.Timeout | null = null;
  function later(): void {
    if (laterTimer || stop.signal.aborted) return;
    laterTimer = setTimeout(() => {
      laterTimer = null;
      kick();
    }, Math.min(options.pollMs, options.retry.firstMs));
    laterTimer.unref();
  }

  const onWake = (): void => kick();
  webhookWakeups.on('wake', onWake);
  const timer = setInterval(kick, options.pollMs);
  timer.unref();
  kick();

  return {
    kick,
    async close() {
      webhookWakeups.off('wake', onWake);
      clearInterval(timer);
      if (laterTimer) clearTimeout(laterTimer);
      stop.abort();
      await running;
    },
  };
}
