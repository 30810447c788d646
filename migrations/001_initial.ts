// Initial schema. Valid on SQLite and MySQL/MariaDB: times are epoch
// milliseconds in BIGINT columns (no engine time-zone rules), booleans are
// small integers, JSON detail is text.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('technicians', (t) => {
    t.increments('id').primary();
    t.string('username', 64).notNullable().unique();
    t.string('display_name', 120).notNullable();
    t.string('email', 254).notNullable().defaultTo('');
    t.string('role', 16).notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.string('password_hash', 255).notNullable();
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.bigInteger('locked_until').nullable();
    t.bigInteger('last_login_at').nullable();
    t.bigInteger('password_changed_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('tickets', (t) => {
    t.increments('id').primary();
    t.string('status', 16).notNullable();
    t.string('requester_name', 120).notNullable();
    t.string('username', 120).notNullable();
    t.string('hostname', 255).notNullable();
    t.string('os', 120).notNullable();
    t.text('description').notNullable();
    t.string('client_secret_hash', 64).notNullable();
    t.string('requester_address', 64).notNullable().defaultTo('');
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.boolean('view_only').notNullable().defaultTo(false);
    t.text('resolution').nullable();
    t.string('end_reason', 40).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('accepted_at').nullable();
    t.bigInteger('approved_at').nullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('ended_at').nullable();
    t.bigInteger('resolved_at').nullable();
    t.index(['status', 'created_at'], 'tickets_status_created');
    t.index(['technician_id', 'status'], 'tickets_technician_status');
    t.index(['created_at'], 'tickets_created');
    t.index(['requester_name'], 'tickets_requester');
    t.index(['hostname'], 'tickets_hostname');
  });

  await knex.schema.createTable('remote_sessions', (t) => {
    t.increments('id').primary();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.bigInteger('started_at').notNullable();
    t.bigInteger('ended_at').notNullable();
    t.bigInteger('duration_ms').notNullable();
    t.bigInteger('bytes_desktop_to_viewer').notNullable();
    t.bigInteger('bytes_viewer_to_desktop').notNullable();
    t.string('end_reason', 40).notNullable();
    t.string('ended_by', 16).nullable();
    t.index(['ticket_id'], 'remote_sessions_ticket');
  });

  await knex.schema.createTable('pairing_tokens', (t) => {
    t.increments('id').primary();
    t.string('token_hash', 64).notNullable().unique();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.string('side', 8).notNullable();
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable();
    t.index(['expires_at'], 'pairing_tokens_expires');
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.increments('id').primary();
    t.bigInteger('at').notNullable();
    t.string('actor_type', 16).notNullable();
    t.integer('actor_id').nullable();
    t.string('actor_name', 120).notNullable().defaultTo('');
    t.string('action', 48).notNullable();
    t.integer('ticket_id').unsigned().nullable();
    t.integer('technician_id').unsigned().nullable();
    t.string('remote_address', 64).notNullable().defaultTo('');
    t.text('detail').nullable();
    t.index(['at'], 'audit_at');
    t.index(['ticket_id', 'at'], 'audit_ticket_at');
    t.index(['action', 'at'], 'audit_action_at');
  });

  await knex.schema.createTable('web_sessions', (t) => {
    t.string('sid', 128).primary();
    t.text('data').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at'], 'web_sessions_expires');
  });

  await knex.schema.createTable('settings', (t) => {
    t.string('name', 64).primary();
    t.text('value').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['settings', 'web_sessions', 'audit_events', 'pairing_tokens', 'remote_sessions', 'tickets', 'technicians']) {
    await knex.schema.dropTableIfExists(table);
  }
}
