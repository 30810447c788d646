// Two-factor login: a TOTP secret per technician (set once enrolment is
// confirmed), the last accepted time step (a code works once), and one-time
// recovery codes stored as SHA-256.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('technicians', (t) => {
    t.string('totp_secret', 64).nullable();
    t.bigInteger('totp_enabled_at').nullable();
    t.bigInteger('totp_last_step').nullable();
  });
  await knex.schema.createTable('recovery_codes', (t) => {
    t.increments('id').primary();
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians').onDelete('CASCADE');
    t.string('code_hash', 64).notNullable();
    t.bigInteger('used_at').nullable();
    t.index(['technician_id'], 'recovery_codes_technician');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('recovery_codes');
  await knex.schema.alterTable('technicians', (t) => {
    t.dropColumn('totp_secret');
    t.dropColumn('totp_enabled_at');
    t.dropColumn('totp_last_step');
  });
}
