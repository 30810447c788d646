// Repeater nodes: each repeater process with a public URL heartbeats here;
// a ticket is carried by one node, chosen least-loaded among the healthy ones.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('repeater_nodes', (t) => {
    t.string('name', 64).primary();
    t.string('url', 255).notNullable();
    t.integer('sessions').notNullable().defaultTo(0);
    t.integer('legs').notNullable().defaultTo(0);
    t.bigInteger('last_seen_at').notNullable();
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.string('repeater_node', 64).nullable();
    t.index(['repeater_node', 'status'], 'tickets_node_status');
  });
  // The node a live session runs on: when it stops heartbeating, any server can end its sessions.
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.string('node', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.dropColumn('node');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.dropIndex(['repeater_node', 'status'], 'tickets_node_status');
    t.dropColumn('repeater_node');
  });
  await knex.schema.dropTableIfExists('repeater_nodes');
}
