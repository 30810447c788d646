// Teams and topics (issue 29): administrators group technicians in teams
// (each technician has at most one primary team) and name the topics a user
// may ask about, each handled by a team with a target wait. A ticket keeps
// its topic, the team whose queue holds it (moved by a technician with a
// note), the target it was made with, when it is due (created + target,
// indexed for the background check) and when it was found waiting too long
// (written once, by a conditional UPDATE, whichever server finds it first).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('teams', (t) => {
    t.increments('id').primary();
    t.string('name', 80).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['name'], { indexName: 'teams_name' });
  });
  await knex.schema.createTable('team_members', (t) => {
    t.integer('team_id').unsigned().notNullable().references('id').inTable('teams').onDelete('CASCADE');
    t.integer('technician_id').unsigned().notNullable().references('id').inTable('technicians');
    t.boolean('is_primary').notNullable().defaultTo(false);
    t.primary(['team_id', 'technician_id']);
    t.index(['technician_id'], 'team_members_technician');
  });
  await knex.schema.createTable('topics', (t) => {
    t.increments('id').primary();
    t.string('name_en', 80).notNullable();
    t.string('name_es', 80).notNullable();
    t.string('name_zh', 80).notNullable();
    t.integer('team_id').unsigned().nullable().references('id').inTable('teams');
    t.integer('target_wait_seconds').unsigned().notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['team_id'], 'topics_team');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.integer('topic_id').unsigned().nullable();
    t.integer('team_id').unsigned().nullable();
    t.bigInteger('wait_target_ms').nullable();
    t.bigInteger('wait_due_at').nullable();
    t.bigInteger('waiting_too_long_at').nullable();
    // A team's queue, oldest first; the check for requests past their target.
    t.index(['team_id', 'status', 'created_at'], 'tickets_team_queue');
    t.index(['status', 'waiting_too_long_at', 'wait_due_at'], 'tickets_wait_due');
    t.index(['topic_id', 'created_at'], 'tickets_topic_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.dropIndex(['topic_id', 'created_at'], 'tickets_topic_created');
    t.dropIndex(['status', 'waiting_too_long_at', 'wait_due_at'], 'tickets_wait_due');
    t.dropIndex(['team_id', 'status', 'created_at'], 'tickets_team_queue');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('waiting_too_long_at');
    t.dropColumn('wait_due_at');
    t.dropColumn('wait_target_ms');
    t.dropColumn('team_id');
    t.dropColumn('topic_id');
  });
  await knex.schema.dropTable('topics');
  await knex.schema.dropTable('team_members');
  await knex.schema.dropTable('teams');
}
