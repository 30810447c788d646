// Session recordings: a ticket remembers whether the user was told its
// sessions are recorded (set at approval), a remote session keeps the id the
// repeater gave it (it is in the recording's header), and each recording has
// a row: where its file is, what it holds, and whether it is still on disk.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.boolean('recorded').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.string('session_uid', 36).nullable();
  });
  await knex.schema.createTable('recordings', (t) => {
    t.string('id', 36).primary();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.integer('remote_session_id').unsigned().nullable().references('id').inTable('remote_sessions');
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.string('node', 64).nullable();
    t.string('file', 255).notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('ended_at').nullable();
    t.bigInteger('duration_ms').nullable();
    t.bigInteger('bytes').nullable();
    t.string('sha256', 64).nullable();
    // recording → complete | incomplete | dropped | failed → purged
    t.string('state', 16).notNullable();
    t.string('problem', 1000).nullable();
    t.bigInteger('purged_at').nullable();
    t.string('purge_reason', 32).nullable();
    t.index(['ticket_id'], 'recordings_ticket');
    t.index(['state', 'started_at'], 'recordings_state_started');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('recordings');
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.dropColumn('session_uid');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('recorded');
  });
}
