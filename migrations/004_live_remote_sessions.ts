// Remote-session rows are written when a session starts (ended_at, duration
// and reason stay empty while it is live) and their byte counts kept current,
// so a crash leaves a row the next start can close (SERVER_RESTARTED).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.bigInteger('ended_at').nullable().alter();
    t.bigInteger('duration_ms').nullable().alter();
    t.string('end_reason', 40).nullable().alter();
    t.bigInteger('updated_at').nullable();
    t.index(['ended_at'], 'remote_sessions_ended');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex('remote_sessions').whereNull('ended_at').update({ ended_at: knex.ref('started_at'), duration_ms: 0, end_reason: 'SERVER_RESTARTED' });
  await knex.schema.alterTable('remote_sessions', (t) => {
    t.dropIndex(['ended_at'], 'remote_sessions_ended');
    t.dropColumn('updated_at');
    t.bigInteger('ended_at').notNullable().alter();
    t.bigInteger('duration_ms').notNullable().alter();
    t.string('end_reason', 40).notNullable().alter();
  });
}
