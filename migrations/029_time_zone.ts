// Each technician's time zone (an IANA name such as "Europe/Madrid"): the
// pages show times in it. Null follows the browser's zone.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('technicians', (t) => {
    t.string('time_zone', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('technicians', (t) => {
    t.dropColumn('time_zone');
  });
}
