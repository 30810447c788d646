// Indexes for history pages by cursor: every sort of the page (the id breaks
// ties; SQLite's rowid and InnoDB's primary key ride in each index), a
// technician's own tickets newest first.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.index(['status'], 'tickets_status');
    t.index(['technician_id', 'created_at'], 'tickets_technician_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.dropIndex(['technician_id', 'created_at'], 'tickets_technician_created');
    t.dropIndex(['status'], 'tickets_status');
  });
}
