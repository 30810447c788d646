// API tokens (server/api-tokens/): named, scoped, expiring secrets an
// integration sends as `Authorization: Bearer hd_…`. Only the SHA-256 of the
// secret is kept. The audit names the token an action was done with, beside
// its owner (api_token_id, api_token_name: the name as it was then).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.increments('id').primary();
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians');
    t.string('name', 80).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    // Space-separated scopes (server/api-tokens/scopes.ts).
    t.string('scopes', 200).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('last_used_at').nullable();
    t.bigInteger('revoked_at').nullable();
    t.index(['technician_id', 'created_at'], 'api_tokens_owner');
  });
  await knex.schema.alterTable('audit_events', (t) => {
    t.integer('api_token_id').unsigned().nullable();
    t.string('api_token_name', 80).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropColumn('api_token_name');
    t.dropColumn('api_token_id');
  });
  await knex.schema.dropTableIfExists('api_tokens');
}
