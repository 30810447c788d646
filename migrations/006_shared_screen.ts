// What the user chose to share when they allowed the session: all screens
// (null) or one monitor, in words ("RIGHT 640×480"), shown to the technician.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.string('shared_screen', 80).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('shared_screen');
  });
}
