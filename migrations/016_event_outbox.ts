// The event outbox (server/events/event-log.ts): every event that live streams
// on any server must see is written here in the transaction of the change it
// records, then announced on the bus as a wake-up. Ids come from the single
// head row, bumped in that same transaction: the row lock makes ids follow
// commit order with no holes, so a reader that has seen id N has seen every
// event before it, and SSE ids (Last-Event-ID) resume on any server.
// `trimmed_through`: the newest id housekeeping has deleted (a stream resuming
// from before it is told to reload).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_outbox', (t) => {
    t.bigInteger('id').unsigned().primary();
    // A bus event name (protocol/events.ts), e.g. 'ticket.changed'.
    t.string('name', 40).notNullable();
    t.integer('ticket_id').unsigned().nullable();
    // The server that wrote it (its bus's origin): subscribers that act once per deployment act where it happened.
    t.string('origin', 36).notNullable();
    // The event as JSON.
    t.text('payload', 'mediumtext').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['ticket_id', 'id'], 'event_outbox_ticket');
    t.index(['created_at'], 'event_outbox_created');
  });
  await knex.schema.createTable('event_outbox_head', (t) => {
    t.integer('id').unsigned().primary();
    t.bigInteger('last_id').unsigned().notNullable();
    t.bigInteger('trimmed_through').unsigned().notNullable();
  });
  await knex('event_outbox_head').insert({ id: 1, last_id: 0, trimmed_through: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('event_outbox_head');
  await knex.schema.dropTableIfExists('event_outbox');
}
