// Indexes for the dashboard strip (resolved today) and the history sorted by
// last change.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.index(['status', 'resolved_at'], 'tickets_status_resolved');
    t.index(['updated_at'], 'tickets_updated');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.dropIndex(['status', 'resolved_at'], 'tickets_status_resolved');
    t.dropIndex(['updated_at'], 'tickets_updated');
  });
}
