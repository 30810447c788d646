// Reading the audit log: the administrators' filtered log (API and page) and a
// ticket's timeline. Writing stays with the service that acts (insertAuditEvent
// in the same transaction as the change it records).
import type { Knex } from 'knex';
import type { AuditFilter } from './schema.ts';
import { listAuditEvents, type AuditEvent } from './store.ts';

/** A ticket's timeline shows at most this many rows. */
const TIMELINE_LIMIT = 1000;

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService({ db }: { db: Knex }) {
  return {
    /** Newest first, `filter.limit` rows; `nextBeforeId` pages to older rows (null on the last page). */
    async list(filter: AuditFilter): Promise<{ events: AuditEvent[]; nextBeforeId: number | null }> {
      const { actor, ...rest } = filter;
      const events = await listAuditEvents(db, { ...rest, ...(actor ? { actorName: actor } : {}) });
      return { events, nextBeforeId: events.length === filter.limit ? (events.at(-1)?.id ?? null) : null };
    },

    /** What happened to one ticket, oldest first. */
    timeline(ticketId: number): Promise<AuditEvent[]> {
      return listAuditEvents(db, { ticketId, limit: TIMELINE_LIMIT });
    },
  };
}
