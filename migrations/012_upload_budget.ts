// The upload budget counts from the files table: who sent each file (the
// client's address, for the per-address budget over a day), by ticket and in
// all. One row of settings is the lock every server takes to check a budget
// and record the file in one step, so two servers never both spend the last
// bytes.
import type { Knex } from 'knex';

export const uploadBudgetLock = 'upload_budget_lock';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ticket_files', (t) => {
    // The sender's address as the server saw it (req.ip, after TRUST_PROXY); null for files sent before.
    t.string('sender_address', 64).nullable();
    t.index(['sender_address', 'created_at'], 'ticket_files_sender_created');
  });
  await knex('settings').insert({ name: uploadBudgetLock, value: '' }).onConflict('name').ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('settings').where({ name: uploadBudgetLock }).delete();
  await knex.schema.alterTable('ticket_files', (t) => {
    t.dropIndex(['sender_address', 'created_at'], 'ticket_files_sender_created');
    t.dropColumn('sender_address');
  });
}
