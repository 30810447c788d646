// Account security: web sessions know their technician (so disabling an
// account or resetting its password ends them), and failed logins are counted
// per account *and* address (so nobody can lock the owner out from elsewhere).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('web_sessions', (t) => {
    t.integer('technician_id').unsigned().nullable();
    t.index(['technician_id'], 'web_sessions_technician');
  });
  await knex.schema.createTable('login_throttle', (t) => {
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians').onDelete('CASCADE');
    t.string('address', 64).notNullable();
    t.integer('failures').notNullable().defaultTo(0);
    t.bigInteger('locked_until').nullable();
    t.bigInteger('last_failure_at').notNullable();
    t.primary(['technician_id', 'address']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('login_throttle');
  await knex.schema.alterTable('web_sessions', (t) => {
    t.dropIndex(['technician_id'], 'web_sessions_technician');
    t.dropColumn('technician_id');
  });
}
