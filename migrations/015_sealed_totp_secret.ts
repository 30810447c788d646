// TOTP secrets are kept sealed (server/technicians/totp-secrets.ts):
// "sealed:v1:<key id>:<base64 of iv, secret, tag>" is up to about 170
// characters, more than the 64 the column held. The secrets themselves are
// sealed at start, not here: the key ring is not a migration's to know.
// SQLite does not hold a string to its declared length (and rebuilding the
// table would cascade to the rows naming it): only MariaDB/MySQL is altered.
import type { Knex } from 'knex';

const onMysql = (knex: Knex): boolean => ['mysql', 'mysql2'].includes(String((knex.client as Knex.Client).config.client));

export async function up(knex: Knex): Promise<void> {
  if (!onMysql(knex)) return;
  await knex.schema.alterTable('technicians', (t) => {
    t.string('totp_secret', 255).nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  if (!onMysql(knex)) return;
  // Sealed secrets do not fit back, nor would an older server read them: said, not cut.
  const sealed = await knex('technicians').where('totp_secret', 'like', 'sealed:%').count({ n: '*' }).first();
  if (Number(sealed?.n ?? 0) > 0) throw new Error(`${String(sealed?.n)} TOTP secrets are sealed; reset those accounts' two-factor login before going below migration 015`);
  await knex.schema.alterTable('technicians', (t) => {
    t.string('totp_secret', 64).nullable().alter();
  });
}
