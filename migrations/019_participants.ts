// Several technicians on one session (issue 26): a ticket's participants
// besides its holder (ticket_participants), each with its own channel at the
// repeater ("42.p7"), so the tokens, the legs, the remote sessions and the
// recordings of a channel name their participant (null: the main channel);
// a ticket keeps its last hand-over's note.
// open_technician_id is the technician while the row is open (invited,
// waiting_user, connected) and null after: with the unique index it keeps one
// open row per technician and ticket whatever two writers do at once.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_participants', (t) => {
    t.increments('id').primary();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians');
    t.integer('open_technician_id').unsigned().nullable();
    t.string('mode', 8).notNullable();
    t.string('kind', 12).notNullable();
    t.string('state', 16).notNullable();
    t.integer('invited_by').unsigned().nullable().references('id').inTable('technicians');
    t.string('note', 2000).nullable();
    t.boolean('control_requested').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('connected_at').nullable();
    t.bigInteger('ended_at').nullable();
    t.unique(['ticket_id', 'open_technician_id'], { indexName: 'ticket_participants_open' });
    t.index(['ticket_id', 'id'], 'ticket_participants_ticket');
    t.index(['technician_id', 'state'], 'ticket_participants_technician');
  });
  for (const table of ['pairing_tokens', 'remote_sessions', 'remote_legs', 'recordings']) {
    await knex.schema.alterTable(table, (t) => {
      t.integer('participant_id').unsigned().nullable();
    });
  }
  // The last hand-over's note, for whoever takes the ticket next (to a colleague or back to the queue).
  await knex.schema.alterTable('tickets', (t) => {
    t.string('handover_note', 2000).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('handover_note');
  });
  for (const table of ['pairing_tokens', 'remote_sessions', 'remote_legs', 'recordings']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('participant_id');
    });
  }
  await knex.schema.dropTableIfExists('ticket_participants');
}
