// A user's "no" to a technician on a ticket (ticket_declines): when it was
// said, how often, and whether the user asked never to be offered that
// technician again on it.
import type { Knex } from 'knex';

export interface DeclineRow {
  ticket_id: number;
  technician_id: number;
  declined_at: number;
  times: number;
  blocked: number | boolean;
}

export const declineStore = {
  find: (db: Knex, ticketId: number, technicianId: number) =>
    db('ticket_declines').where({ ticket_id: ticketId, technician_id: technicianId }).first<DeclineRow | undefined>(),

  /** Counts one more decline (inside the decline's transaction). */
  async note(trx: Knex.Transaction, ticketId: number, technicianId: number, now: number, blocked: boolean): Promise<void> {
    const key = { ticket_id: ticketId, technician_id: technicianId };
    const updated = await trx('ticket_declines').where(key).update({ declined_at: now, blocked, times: trx.raw('times + 1') });
    if (updated === 0) await trx('ticket_declines').insert({ ...key, declined_at: now, blocked, times: 1 });
  },

  forTechnician: (db: Knex, technicianId: number, ticketIds: number[]) =>
    db<DeclineRow>('ticket_declines').where({ technician_id: technicianId }).whereIn('ticket_id', ticketIds),
};
