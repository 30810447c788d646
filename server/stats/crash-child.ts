// A process that dies in the middle of a ticket's move (for
// server/stats/rollups.test.ts): it opens the database, starts an accept
// whose transaction has written the ticket's row and the rollups, says so on
// stdout, and waits there until it is killed — so the test can show that
// nothing of the move, the rollups included, outlives the process.
import { openDatabase } from '../db/database.ts';
import { createTransition } from '../tickets/transition.ts';
import type { Config } from '../config.ts';
import type { EventBus } from '../events/event-bus.ts';

const [databaseJson, ticketId, technicianId] = process.argv.slice(2);
const db = await openDatabase(JSON.parse(databaseJson!) as Config['database']);
// The move never reaches its live event: it is killed before.
const bus = { record: () => Promise.reject(new Error('not reached')) } as unknown as EventBus;
const transition = createTransition({ db, clock: { now: () => Date.now() }, bus, maxActiveTicketsPerTech: 100 });
await transition(Number(ticketId), 'accept', { actor: { type: 'technician', id: Number(technicianId), name: 'Crash', role: 'technician' }, remoteAddress: '' }, {
  // What this transaction sees of the technician's requests once its writes are done, then no commit: it waits to be killed.
  also: async (_row, trx) => {
    const seen = (await trx('ticket_day_counts').where({ technician_id: Number(technicianId) }).sum({ n: 'requests' }).first()) as { n: number | string | null };
    process.stdout.write(`written ${Number(seen.n ?? 0)}\n`);
    await new Promise<void>(() => undefined);
  },
});
