// One truth for repeater nodes and remote sessions, shared by every server
// (issue 24): who holds a node's name and till when (repeater_claims: the
// process's instance id and the lease its heartbeats renew; the server holding
// its command stream); the commands waiting for a node (repeater_commands);
// each remote session's high-water mark (remote_session_events: the last of
// its events applied, in order) and the events that arrived before their
// predecessor (remote_session_events_held); the legs waiting for their peer
// (remote_legs: "desktop connected" for every server). Session rows are found
// by the repeater's session id (unique) and carry the instance that ran them.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('repeater_claims', (t) => {
    t.string('node', 64).primary();
    t.string('instance', 36).notNullable();
    t.bigInteger('claimed_at').notNullable();
    t.bigInteger('lease_until').notNullable();
    // The command stream commands go to: its id, and the server (its bus origin) holding it.
    t.string('stream_id', 36).nullable();
    t.string('stream_server', 64).nullable();
  });
  await knex.schema.createTable('repeater_commands', (t) => {
    t.increments('id').primary();
    t.string('node', 64).notNullable();
    t.string('instance', 36).notNullable();
    t.string('ticket_id', 32).notNullable();
    t.string('reason', 40).notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['instance', 'id'], 'repeater_commands_instance');
    t.index(['created_at'], 'repeater_commands_created');
  });
  await knex.schema.createTable('remote_session_events', (t) => {
    t.string('session_uid', 36).primary();
    t.integer('applied_seq').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['updated_at'], 'remote_session_events_updated');
  });
  await knex.schema.createTable('remote_session_events_held', (t) => {
    t.string('session_uid', 36).notNullable();
    t.integer('seq').notNullable();
    t.string('node', 64).nullable();
    t.string('instance', 36).nullable();
    t.text('payload').notNullable();
    t.bigInteger('received_at').notNullable();
    t.primary(['session_uid', 'seq']);
    t.index(['received_at'], 'remote_session_events_held_received');
  });
  await knex.schema.createTable('remote_legs', (t) => {
    t.string('session_uid', 36).notNullable();
    t.string('side', 8).notNullable();
    t.integer('ticket_id').unsigned().notNullable();
    t.string('node', 64).nullable();
    t.string('instance', 36).nullable();
    t.bigInteger('since').notNullable();
    t.primary(['session_uid', 'side']);
    t.index(['ticket_id'], 'remote_legs_ticket');
  });
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.string('instance', 36).nullable();
    t.unique(['session_uid'], { indexName: 'remote_sessions_session_uid' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.dropUnique(['session_uid'], 'remote_sessions_session_uid');
    t.dropColumn('instance');
  });
  for (const table of ['remote_legs', 'remote_session_events_held', 'remote_session_events', 'repeater_commands', 'repeater_claims']) await knex.schema.dropTableIfExists(table);
}
