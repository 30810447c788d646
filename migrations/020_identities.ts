// Company sign-in (issue 27, server/identity/): where each account comes from
// (`source`: local, oidc or ldap) and how it last signed in; and the link of an
// OpenID Connect or LDAP account to the provider's identity — (issuer, subject)
// for OIDC, ('ldap', the directory username) for LDAP — one per account.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('technicians', (t) => {
    t.string('source', 8).notNullable().defaultTo('local');
    // The OIDC provider's id (OIDC_PROVIDERS' `id`; "oidc" for OIDC_ISSUER's), shown by its name on the Technicians page.
    t.string('provider', 64).nullable();
    // 'local' | 'oidc' | 'ldap'; null: never signed in (or not since migration 020).
    t.string('last_login_method', 16).nullable();
  });
  await knex.schema.createTable('technician_identities', (t) => {
    t.increments('id').primary();
    t.integer('technician_id').unsigned().notNullable().unique().references('id').inTable('technicians').onDelete('CASCADE');
    t.string('source', 8).notNullable();
    t.string('issuer', 255).notNullable();
    t.string('subject', 255).notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['source', 'issuer', 'subject'], { indexName: 'technician_identities_subject' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('technician_identities');
  await knex.schema.alterTable('technicians', (t) => {
    t.dropColumn('last_login_method');
    t.dropColumn('provider');
    t.dropColumn('source');
  });
}
