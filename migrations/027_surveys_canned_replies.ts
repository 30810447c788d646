// Satisfaction, canned replies (issue 29):
// - tickets.survey_*: the user's answer after the session (1–5, an optional
//   comment, when), once per ticket; tickets.exit_note: the technician's
//   internal note at resolution (never shown to the user);
// - ticket_day_ratings: the statistics' rollup of the answers, per UTC day of
//   the request, technician, team and topic (0: none) and rating, kept in the
//   transaction of each change (server/stats/rollups.ts) like the other rollups;
// - canned_replies: a team's prepared chat answers (team_id null: every team),
//   with {user} and {technician} filled in when inserted.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.tinyint('survey_rating').nullable();
    t.string('survey_comment', 1000).nullable();
    t.bigInteger('survey_at').nullable();
    t.text('exit_note').nullable();
  });
  await knex.schema.createTable('ticket_day_ratings', (t) => {
    t.integer('day').notNullable();
    t.integer('technician_id').notNullable();
    t.integer('team_id').notNullable();
    t.integer('topic_id').notNullable();
    t.integer('rating').notNullable();
    t.integer('n').notNullable();
    t.primary(['day', 'technician_id', 'team_id', 'topic_id', 'rating']);
  });
  await knex.schema.createTable('canned_replies', (t) => {
    t.increments('id').primary();
    t.integer('team_id').unsigned().nullable();
    t.string('title', 80).notNullable();
    t.string('body', 2000).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['team_id', 'title'], 'canned_replies_team');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('canned_replies');
  await knex.schema.dropTableIfExists('ticket_day_ratings');
  await knex.schema.alterTable('tickets', (t) => {
    for (const c of ['exit_note', 'survey_at', 'survey_comment', 'survey_rating']) t.dropColumn(c);
  });
}
