// An audit row, handed on once its transaction has committed: the SIEM's
// lines and the metrics counted from audit events (login failures, queue
// waits) see only what the database holds. A rolled-back row is never handed
// on. Listeners belong to one database handle (one server), found from any of
// its transactions; with none, nothing is kept and nothing waits.
import type { Knex } from 'knex';
import { handledElsewhere } from '../../lib/expected.ts';
import type { ActorContext } from './actor.ts';

/** An audit event as written, with the actor's whole context (role, how they signed in, the token used). */
export interface CommittedAudit {
  id: number;
  at: number;
  context: ActorContext;
  action: string;
  ticketId: number | null;
  technicianId: number | null;
  detail: Record<string, unknown> | null;
}

export type AuditListener = (event: CommittedAudit) => void;

// Keyed by the knex client's config: one object per knex instance, shared by its transactions' clients.
const listeners = new WeakMap<object, AuditListener[]>();

const keyOf = (db: Knex): object => (db.client as { config: object }).config;

/** Hears every audit row this database handle commits; returns the unsubscribe. */
export function onAuditCommitted(db: Knex, listener: AuditListener): () => void {
  const list = listeners.get(keyOf(db)) ?? [];
  list.push(listener);
  listeners.set(keyOf(db), list);
  return () => {
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  };
}

interface Transactor {
  isTransaction?: boolean;
  parentTransaction?: Transactor;
  executionPromise?: Promise<unknown>;
}

/** Called by insertAuditEvent after its insert: now (no transaction) or once the outermost transaction commits. */
export function afterAuditInsert(db: Knex, event: CommittedAudit): void {
  const list = listeners.get(keyOf(db));
  if (!list?.length) return;
  const tell = (): void => {
    for (const listener of [...list]) listener(event);
  };
  let trx = db as unknown as Transactor;
  if (!trx.isTransaction) return tell();
  while (trx.parentTransaction) trx = trx.parentTransaction;
  // Rejected: rolled back (the caller sees that error); the row does not exist, so nothing is said.
  trx.executionPromise?.then(tell, handledElsewhere);
}
