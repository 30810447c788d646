// Service-level clocks (issue 29): a background check finds waiting requests
// past their topic's target and marks each once, deployment-wide — a
// conditional UPDATE of waiting_too_long_at, so of several servers finding it
// only one writes — with its audit row (`ticket.waiting_too_long`, which
// webhooks send as `request.waiting_too_long`) and its live event (the
// team's queues mark it, opted-in members get a notification) in the same
// transaction. Each round reads at most `batch` requests, oldest due first,
// on the index (status, waiting_too_long_at, wait_due_at).
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Logger } from '../../lib/logger.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { systemActor } from '../audit/actor.ts';
import { ticketStore } from './store.ts';

export interface WaitingCheckDeps {
  db: Knex;
  clock: Clock;
  bus: EventBus;
  /** WAIT_CHECK_BATCH: the most requests one round marks. */
  batch: number;
}

/** One round: marks the requests now past their target; returns how many this server marked. */
export async function markWaitingTooLong({ db, clock, bus, batch }: WaitingCheckDeps): Promise<number> {
  const now = clock.now();
  const due = (await db('tickets')
    .where({ status: 'requested' })
    .whereNull('waiting_too_long_at')
    .where('wait_due_at', '<=', now)
    .orderBy('wait_due_at')
    .limit(batch)
    .select('id')) as { id: number }[];
  let marked = 0;
  for (const { id } of due) {
    const won = await db.transaction(async (trx) => {
      const row = await ticketStore.row(trx, Number(id));
      // Only the server whose UPDATE changes the row records the event.
      const changed = await trx('tickets').where({ id, status: 'requested' }).whereNull('waiting_too_long_at').update({ waiting_too_long_at: now });
      if (changed !== 1 || !row) return false;
      const waitedMs = now - Number(row.created_at);
      await insertAuditEvent(trx, now, systemActor('wait-check'), 'ticket.waiting_too_long', { ticketId: Number(id) }, { topicId: row.topic_id ?? null, teamId: row.team_id ?? null, targetMs: Number(row.wait_target_ms), waitedMs });
      const ticket = await ticketStore.view(trx, Number(id));
      if (!ticket) return false;
      await bus.record(trx, 'ticket.changed', { ticket, action: 'waiting_too_long', previousStatus: 'requested', previousTechnicianId: null });
      return true;
    });
    if (won) marked += 1;
  }
  return marked;
}

/** Runs a round every `everyMs` (never two at once on this server); `stop()` ends it. */
export function startWaitingCheck(deps: WaitingCheckDeps & { everyMs: number; logger: Logger }): { stop(): void; round(): Promise<number> } {
  const log = deps.logger.child({ component: 'wait-check' });
  let running: Promise<number> | null = null;
  const round = (): Promise<number> => (running ??= markWaitingTooLong(deps).finally(() => (running = null)));
  const timer = setInterval(() => {
    round().catch((err: unknown) => log.error({ err }, 'the check for requests waiting too long failed'));
  }, deps.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), round };
}
