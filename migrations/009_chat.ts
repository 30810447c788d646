// Chat on a ticket: the messages between the user and the technicians, from
// the request to its resolution, and how far each technician has read.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_messages', (t) => {
    t.increments('id').primary();
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    // 'user' or 'technician'
    t.string('author', 16).notNullable();
    t.integer('technician_id').unsigned().nullable().references('id').inTable('technicians');
    t.string('author_name', 120).notNullable();
    t.text('text').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['ticket_id', 'id'], 'ticket_messages_ticket');
  });
  await knex.schema.createTable('message_reads', (t) => {
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians');
    t.integer('ticket_id').unsigned().notNullable().references('id').inTable('tickets');
    t.integer('last_read_id').unsigned().notNullable();
    t.primary(['technician_id', 'ticket_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('message_reads');
  await knex.schema.dropTableIfExists('ticket_messages');
}
