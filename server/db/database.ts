// Opens the database named by the config (SQLite file by default, or
// MySQL/MariaDB) and brings its schema up to date.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations/index.ts';
import type { Config } from '../config.ts';

export type Db = Knex;

export async function openDatabase(database: Config['database']): Promise<Db> {
  let db: Db;
  if (database.client === 'sqlite') {
    if (database.filename !== ':memory:') mkdirSync(dirname(database.filename), { recursive: true });
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: database.filename },
      useNullAsDefault: true,
      pool: {
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    });
  } else {
    db = knexFactory({
      client: 'mysql2',
      connection: { uri: database.url, supportBigNumbers: true, bigNumberStrings: false, charset: 'utf8mb4' } as Knex.MySql2ConnectionConfig,
      pool: { min: 0, max: 10 },
    });
  }
  await db.migrate.latest({ migrationSource });
  return db;
}

/** The number of rows a query matches (COUNT comes back as a number or a string, by engine). */
export async function countRows(query: Knex.QueryBuilder): Promise<number> {
  const row = (await query.count({ n: '*' }).first()) as { n?: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Whether a write failed on a unique index (MariaDB's ER_DUP_ENTRY, SQLite's UNIQUE constraint). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown };
  return e?.code === 'ER_DUP_ENTRY' || e?.errno === 1062 || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
