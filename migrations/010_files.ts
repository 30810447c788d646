// Files exchanged on a ticket: offered by a technician to the user (who accepts
// or refuses), or sent by the user to the technicians; kept for a while, then
// deleted (the row stays).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_files', (t) => {
    t.string('id', 36).primary();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    // 'to_user' or 'to_technician'
    t.string('direction', 16).notNullable();
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.string('sender_name', 120).notNullable();
    t.string('name', 255).notNullable();
    t.bigInteger('size').notNullable();
    t.string('sha256', 64).notNullable();
    // offered | accepted | refused (to the user); available (to the technicians); purged
    t.string('state', 16).notNullable();
    t.string('storage', 255).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('decided_at').nullable();
    t.bigInteger('purged_at').nullable();
    t.index(['ticket_id'], 'ticket_files_ticket');
    t.index(['state', 'created_at'], 'ticket_files_state_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ticket_files');
}
