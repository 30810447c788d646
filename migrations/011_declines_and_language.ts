// A user's "no" to a technician, kept per ticket and technician: the same
// technician may offer again only after a cooldown, or never on this ticket
// when the user said "don't ask me again". And each technician's language.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_declines', (t) => {
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians');
    t.bigInteger('declined_at').notNullable();
    t.integer('times').notNullable().defaultTo(1);
    // The user asked not to be offered this technician again on this ticket.
    t.boolean('blocked').notNullable().defaultTo(false);
    t.primary(['ticket_id', 'technician_id']);
  });
  await knex.schema.alterTable('technicians', (t) => {
    // 'en' | 'es' | 'zh'; null follows the browser's language.
    t.string('language', 8).nullable();
  });
  // The statistics page reads sessions by start time.
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.index(['started_at'], 'remote_sessions_started');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.dropIndex(['started_at'], 'remote_sessions_started');
  });
  await knex.schema.dropTableIfExists('ticket_declines');
  await knex.schema.alterTable('technicians', (t) => {
    t.dropColumn('language');
  });
}
