// Uploads still arriving, counted by the upload budget
// (server/files/upload-budget.ts) so that every server sharing the database
// sees them: before its body is read, an upload reserves what it may write
// (its declared length, else all it may have). The row goes when the file is
// recorded (its real size then counts from ticket_files), when the upload
// fails, or — left by a server that died mid-upload — once it is older than
// the upload deadline (not counted then, deleted by housekeeping).
// ticket_files.storage gets an index: housekeeping asks which stored files a
// row still keeps.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('upload_reservations', (t) => {
    t.string('id', 36).primary();
    t.integer('ticket_id').unsigned().notNullable();
    // 'to_user' or 'to_technician'
    t.string('direction', 16).notNullable();
    // The sender's address as the server saw it (req.ip, after TRUST_PROXY).
    t.string('sender_address', 64).nullable();
    t.bigInteger('bytes').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['ticket_id'], 'upload_reservations_ticket');
    t.index(['sender_address'], 'upload_reservations_sender');
    t.index(['created_at'], 'upload_reservations_created');
  });
  await knex.schema.alterTable('ticket_files', (t) => {
    t.index(['storage'], 'ticket_files_storage');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ticket_files', (t) => {
    t.dropIndex(['storage'], 'ticket_files_storage');
  });
  await knex.schema.dropTableIfExists('upload_reservations');
}
