// The database engines every storage and API suite runs on: SQLite in a
// temporary file, and MariaDB (a fresh database per call) when the global
// setup provided one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { inject } from 'vitest';
import type { Config } from '../server/config.ts';

export type Engine = 'sqlite' | 'mysql';

export const engines: Engine[] = inject('mysqlUrl') ? ['sqlite', 'mysql'] : ['sqlite'];

/** A database configuration for a brand-new, empty database on the engine. */
export async function freshDatabase(engine: Engine): Promise<Config['database']> {
  if (engine === 'sqlite') {
    return { client: 'sqlite', filename: join(mkdtempSync(join(tmpdir(), 'helpdesk-sqlite-')), 'test.sqlite') };
  }
  const base = inject('mysqlUrl');
  if (!base) throw new Error('no MariaDB for this run');
  const name = `hd_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'mysql2', connection: base });
  await admin.raw(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  return { client: 'mysql', url: `${base}/${name}` };
}
