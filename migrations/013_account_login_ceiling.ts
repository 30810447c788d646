// The per-account ceiling on failed logins: attempts on one account from
// addresses that never logged in to it, counted together (a success clears
// them), and the delay they impose once past the ceiling; and the addresses
// an account logged in from, which that delay spares. Kept here, not in a
// process, so that every server agrees.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_account_throttle', (t) => {
    t.integer('technician_id').unsigned().notNullable().primary().references('id').inTable('technicians').onDelete('CASCADE');
    t.integer('failures').notNullable().defaultTo(0);
    t.bigInteger('last_failure_at').notNullable();
    t.bigInteger('delayed_until').nullable();
  });
  await knex.schema.createTable('login_known_addresses', (t) => {
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians').onDelete('CASCADE');
    t.string('address', 64).notNullable();
    t.bigInteger('last_success_at').notNullable();
    t.primary(['technician_id', 'address']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('login_known_addresses');
  await knex.schema.dropTableIfExists('login_account_throttle');
}
