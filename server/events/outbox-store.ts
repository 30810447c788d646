// The event outbox's rows (migration 016): appended inside the transaction of
// the change they record, read back in id order by each server's feed and by
// streams that resume, trimmed by housekeeping.
import type { Knex } from 'knex';
import type { BusEventName } from '../../protocol/events.ts';

export interface OutboxRow {
  id: number;
  name: BusEventName;
  ticketId: number | null;
  origin: string;
  event: unknown;
}

interface RawRow {
  id: number | string;
  name: BusEventName;
  ticket_id: number | string | null;
  origin: string;
  payload: string;
}

interface Head {
  lastId: number;
  trimmedThrough: number;
}

const toRow = (r: RawRow): OutboxRow => ({
  id: Number(r.id),
  name: r.name,
  ticketId: r.ticket_id === null ? null : Number(r.ticket_id),
  origin: r.origin,
  event: JSON.parse(r.payload) as unknown,
});

export const outboxStore = {
  /**
   * Appends one event in `trx`; returns its id. The head row's update locks it
   * until `trx` ends, so the next id is taken only once this one committed (or
   * rolled back, taking its bump with it): ids follow commit order, no holes.
   * Call it last in the transaction, to hold the lock briefly.
   */
  async append(trx: Knex.Transaction, entry: { name: BusEventName; ticketId: number | null; origin: string; event: unknown; at: number }): Promise<number> {
    await trx('event_outbox_head').where({ id: 1 }).update({ last_id: trx.raw('last_id + 1') });
    const head = (await trx('event_outbox_head').where({ id: 1 }).first('last_id')) as { last_id: number | string } | undefined;
    if (!head) throw new Error('the event outbox has no head row (migration 016)');
    const id = Number(head.last_id);
    await trx('event_outbox').insert({ id, name: entry.name, ticket_id: entry.ticketId, origin: entry.origin, payload: JSON.stringify(entry.event), created_at: entry.at });
    return id;
  },

  async head(db: Knex): Promise<Head> {
    const row = (await db('event_outbox_head').where({ id: 1 }).first('last_id', 'trimmed_through')) as { last_id: number | string; trimmed_through: number | string } | undefined;
    return { lastId: Number(row?.last_id ?? 0), trimmedThrough: Number(row?.trimmed_through ?? 0) };
  },

  /** Up to `limit` events after `afterId`, oldest first; only one ticket's when `ticketId` is given. */
  async after(db: Knex, afterId: number, limit: number, ticketId?: number): Promise<OutboxRow[]> {
    const q = db('event_outbox').where('id', '>', afterId).orderBy('id', 'asc').limit(limit).select('id', 'name', 'ticket_id', 'origin', 'payload');
    if (ticketId !== undefined) q.where('ticket_id', ticketId);
    return ((await q) as RawRow[]).map(toRow);
  },

  /** How many events follow `afterId` (one ticket's when given), counting no further than `atMost`. */
  async countAfter(db: Knex, afterId: number, atMost: number, ticketId?: number): Promise<number> {
    const q = db('event_outbox').where('id', '>', afterId).orderBy('id', 'asc').limit(atMost).select('id');
    if (ticketId !== undefined) q.where('ticket_id', ticketId);
    return ((await q) as unknown[]).length;
  },

  /**
   * Deletes events written before `before`, and the oldest beyond `keepRows`;
   * records the newest id deleted in the head. Returns how many went.
   */
  async trim(db: Knex, before: number, keepRows: number): Promise<number> {
    const byAge = (await db('event_outbox').where('created_at', '<', before).max({ id: 'id' }).first()) as { id: number | string | null } | undefined;
    const { lastId } = await outboxStore.head(db);
    const cut = Math.max(Number(byAge?.id ?? 0), lastId - keepRows);
    if (cut <= 0) return 0;
    // Said before it is done: a stream that resumes meanwhile sees the boundary moved and reloads.
    await db('event_outbox_head').where({ id: 1 }).andWhere('trimmed_through', '<', cut).update({ trimmed_through: cut });
    let deleted = 0;
    // In slices, so that no one statement holds locks over a large range.
    for (;;) {
      const ids = ((await db('event_outbox').where('id', '<=', cut).orderBy('id', 'asc').limit(1_000).select('id')) as { id: number | string }[]).map((r) => Number(r.id));
      if (ids.length === 0) break;
      deleted += await db('event_outbox').whereIn('id', ids).delete();
    }
    return deleted;
  },
};
