// Webhooks (server/webhooks/, issue 28): the endpoints administrators
// register, and the delivery outbox. A delivery row is written in the
// transaction of the change it tells about (the audit row's), one per
// subscribed endpoint, numbered by the endpoint's `next_seq` — bumped in that
// transaction, so the row lock makes an endpoint's numbers follow commit order
// with no holes. Each endpoint is sent in `seq` order, one attempt at a time
// in the whole deployment: the server holding its lease (`lease_owner`,
// `lease_until`, taken by a conditional UPDATE) sends; a lease that runs out
// (its server died mid-attempt) is taken over.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.increments('id').primary();
    t.string('url', 2000).notNullable();
    // Space-separated event names (server/webhooks/events.ts).
    t.string('events', 1000).notNullable();
    // The signing secret (whsec_…), sealed with the secrets key ring (SECRETS_KEY).
    t.text('secret_sealed').notNullable();
    t.string('description', 200).notNullable().defaultTo('');
    t.boolean('enabled').notNullable().defaultTo(true);
    // 'ok' | 'failing': failing once a delivery was refused past WEBHOOK_RETRY_FOR_MS; held until resumed.
    t.string('health', 12).notNullable().defaultTo('ok');
    t.bigInteger('failing_since').nullable();
    t.string('failing_reason', 500).nullable();
    t.bigInteger('next_seq').notNullable().defaultTo(0);
    // When the endpoint's first pending delivery is due (null: nothing pending).
    t.bigInteger('due_at').nullable();
    t.string('lease_owner', 36).nullable();
    t.bigInteger('lease_until').nullable();
    // Events not queued because WEBHOOK_MAX_PENDING deliveries were waiting (since when, how many).
    t.integer('overflowed').notNullable().defaultTo(0);
    t.bigInteger('overflow_since').nullable();
    t.integer('created_by').unsigned().nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['due_at'], 'webhook_endpoints_due');
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.integer('endpoint_id').unsigned().notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.bigInteger('seq').notNullable();
    // The Standard Webhooks message id (webhook-id): the same for every attempt and for "send again".
    t.string('message_id', 40).notNullable();
    t.string('event', 40).notNullable();
    t.text('payload', 'mediumtext').notNullable();
    // 'pending' | 'delivered' | 'failed' (server/webhooks/store.ts).
    t.string('state', 12).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('first_attempt_at').nullable();
    t.bigInteger('last_attempt_at').nullable();
    t.bigInteger('next_attempt_at').nullable();
    t.bigInteger('delivered_at').nullable();
    t.integer('response_status').nullable();
    t.string('last_error', 500).nullable();
    // "Send again": the delivery this one repeats.
    t.bigInteger('resent_from').nullable();
    t.unique(['endpoint_id', 'seq'], { indexName: 'webhook_deliveries_order' });
    t.index(['endpoint_id', 'state', 'seq'], 'webhook_deliveries_pending');
    // By state (the metrics' counts), and by age within a state (housekeeping deletes the old delivered and failed).
    t.index(['state', 'created_at'], 'webhook_deliveries_state');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
