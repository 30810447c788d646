// Which engine a knex handle (or transaction) talks to, for the few
// statements whose SQL differs (full-text indexes, triggers, integer division).
import type { Knex } from 'knex';

export function isMysql(knex: Knex): boolean {
  return (knex.client as { config: { client: string } }).config.client !== 'better-sqlite3';
}
