// Word search on a postings table both engines read the same way (issue 30):
// `ticket_words` holds a row (word, created_at, ticket_id) for each distinct
// word of a ticket's problem, resolution and conversation, words as
// server/history/words.ts defines them (one tokenizer for the index and the
// search, so both engines give the same tickets). Keyed by word, then the
// history's order, a search reads the newest tickets with a word without a
// sort and stops at a page; (ticket_id, word) checks a ticket for the other
// words. It replaces 022's SQLite FTS5 table and MariaDB FULLTEXT index (and
// their triggers), which hand over every match before the newest 50 are kept.
// Built for existing tickets in chunks by id with progress; it is written
// outside one transaction (millions of rows) and may run again after an
// interruption: the table is created if missing and rows already there are kept.
import type { Knex } from 'knex';
import { wordSetOf } from './words.ts';
import { isMysql } from './engine.ts';
import { inIdChunks } from './progress.ts';

const CHUNK = 5_000;
const STEP = '031 word postings';

export const config = { transaction: false };

/** Rows per INSERT (3 bound values each: under SQLite's 32,766). */
export const POSTINGS_PER_INSERT = 2_000;

export interface Posting {
  word: string;
  created_at: number;
  ticket_id: number;
}

/**
 * Inserts postings, those already there left as they are: one VALUES list per
 * POSTINGS_PER_INSERT rows (knex's multi-row insert on SQLite is a compound
 * SELECT, refused past 500 rows — a message of 600 distinct words would fail).
 */
export async function insertPostings(db: Knex, rows: readonly Posting[]): Promise<void> {
  const mysql = isMysql(db);
  for (let i = 0; i < rows.length; i += POSTINGS_PER_INSERT) {
    const chunk = rows.slice(i, i + POSTINGS_PER_INSERT);
    const values = chunk.map(() => '(?, ?, ?)').join(', ');
    const bindings = chunk.flatMap((r) => [r.word, r.created_at, r.ticket_id]);
    await db.raw(mysql ? `INSERT IGNORE INTO ticket_words (word, created_at, ticket_id) VALUES ${values}` : `INSERT INTO ticket_words (word, created_at, ticket_id) VALUES ${values} ON CONFLICT DO NOTHING`, bindings);
  }
}

export async function up(knex: Knex): Promise<void> {
  if (isMysql(knex)) {
    await knex.raw(`CREATE TABLE IF NOT EXISTS ticket_words (
      word VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      created_at BIGINT NOT NULL,
      ticket_id INT UNSIGNED NOT NULL,
      PRIMARY KEY (word, created_at, ticket_id),
      KEY ticket_words_ticket (ticket_id, word)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  } else {
    await knex.raw(`CREATE TABLE IF NOT EXISTS ticket_words (
      word TEXT NOT NULL, created_at INTEGER NOT NULL, ticket_id INTEGER NOT NULL,
      PRIMARY KEY (word, created_at, ticket_id)) WITHOUT ROWID`);
    await knex.raw('CREATE INDEX IF NOT EXISTS ticket_words_ticket ON ticket_words (ticket_id, word)');
  }
  const bounds = (await knex('tickets').min({ first: 'id' }).max({ last: 'id' }).count({ n: '*' }).first()) as { first: number | null; last: number | null; n: number | string };
  await inIdChunks(STEP, Number(bounds.first ?? 1), Number(bounds.last ?? 0), Number(bounds.n), CHUNK, async (from, to) => {
    const tickets = (await knex('tickets').whereBetween('id', [from, to]).select('id', 'created_at', 'description', 'resolution')) as { id: number; created_at: number | string; description: string; resolution: string | null }[];
    const messages = (await knex('ticket_messages').whereBetween('ticket_id', [from, to]).select('ticket_id', 'text')) as { ticket_id: number; text: string }[];
    const texts = new Map<number, string[]>();
    for (const m of messages) texts.set(Number(m.ticket_id), [...(texts.get(Number(m.ticket_id)) ?? []), m.text]);
    const rows: Posting[] = [];
    for (const t of tickets) {
      const createdAt = Number(t.created_at);
      for (const word of wordSetOf([t.description, t.resolution, ...(texts.get(Number(t.id)) ?? [])])) rows.push({ word, created_at: createdAt, ticket_id: Number(t.id) });
    }
    await knex.transaction((trx) => insertPostings(trx, rows));
  });
  for (const trigger of ['ticket_search_insert', 'ticket_search_update', 'ticket_search_delete', 'ticket_search_message']) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
  await knex.raw('DROP TABLE IF EXISTS ticket_search');
}

export function down(): Promise<void> {
  return Promise.reject(new Error('031 word postings: going back would need 022 word index built again; restore a backup taken before the upgrade instead'));
}
