// Word search over a ticket's problem, resolution and conversation, on an
// index kept in step by triggers (so every write that changes those texts,
// whoever makes it, updates the index in its own transaction):
// - SQLite: an FTS5 table (unicode61, remove_diacritics 2: case- and
//   accent-insensitive), rowid = the ticket's id.
// - MariaDB: an InnoDB table with a FULLTEXT index in utf8mb4_unicode_ci (its
//   comparisons are case- and accent-insensitive), built after the backfill,
//   with stopwords off for this index (the session's innodb_ft_enable_stopword)
//   so every word is indexed as on SQLite. Words shorter than the server's
//   innodb_ft_min_token_size are not indexed: server/history/word-search.ts
//   falls back to LIKE for those (README: set it to 1 in production).
// The backfill goes by id in chunks and reports its progress (migrations/progress.ts).
import type { Knex } from 'knex';
import { isMysql } from './engine.ts';
import { inIdChunks, reportProgress } from './progress.ts';

const CHUNK = 20_000;
const STEP = '022 word index';


export async function up(knex: Knex): Promise<void> {
  const bounds = (await knex('tickets').min({ first: 'id' }).max({ last: 'id' }).count({ n: '*' }).first()) as { first: number | null; last: number | null; n: number | string };
  const first = Number(bounds.first ?? 1);
  const last = Number(bounds.last ?? 0);
  const total = Number(bounds.n);
  if (isMysql(knex)) {
    await knex.raw(`CREATE TABLE ticket_search (
      ticket_id INT UNSIGNED NOT NULL PRIMARY KEY,
      problem TEXT NOT NULL,
      resolution TEXT NOT NULL,
      conversation MEDIUMTEXT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await inIdChunks(STEP, first, last, total, CHUNK, (from, to) =>
      knex.raw(
        `INSERT INTO ticket_search (ticket_id, problem, resolution, conversation)
         SELECT t.id, t.description, COALESCE(t.resolution, ''),
                COALESCE((SELECT GROUP_CONCAT(m.text ORDER BY m.id SEPARATOR '\\n') FROM ticket_messages m WHERE m.ticket_id = t.id), '')
         FROM tickets t WHERE t.id BETWEEN ? AND ?`,
        [from, to],
      ),
    );
    reportProgress(`${STEP} (building the FULLTEXT index)`, 0, total);
    // The migration's own connection (knex runs it in a transaction): stopwords off for this index only.
    await knex.raw('SET SESSION innodb_ft_enable_stopword = OFF');
    await knex.raw('ALTER TABLE ticket_search ADD FULLTEXT INDEX ticket_search_words (problem, resolution, conversation)');
    await knex.raw('SET SESSION innodb_ft_enable_stopword = DEFAULT');
    reportProgress(`${STEP} (building the FULLTEXT index)`, total, total);
    await knex.raw(`CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets FOR EACH ROW
      INSERT INTO ticket_search (ticket_id, problem, resolution, conversation) VALUES (NEW.id, NEW.description, COALESCE(NEW.resolution, ''), '')`);
    await knex.raw(`CREATE TRIGGER ticket_search_update AFTER UPDATE ON tickets FOR EACH ROW
      UPDATE ticket_search SET problem = NEW.description, resolution = COALESCE(NEW.resolution, '')
      WHERE ticket_id = NEW.id AND NOT (OLD.description <=> NEW.description AND OLD.resolution <=> NEW.resolution)`);
    await knex.raw('CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets FOR EACH ROW DELETE FROM ticket_search WHERE ticket_id = OLD.id');
    await knex.raw(`CREATE TRIGGER ticket_search_message AFTER INSERT ON ticket_messages FOR EACH ROW
      UPDATE ticket_search SET conversation = IF(conversation = '', NEW.text, CONCAT(conversation, '\\n', NEW.text)) WHERE ticket_id = NEW.ticket_id`);
    return;
  }
  await knex.raw("CREATE VIRTUAL TABLE ticket_search USING fts5(problem, resolution, conversation, tokenize = 'unicode61 remove_diacritics 2')");
  await inIdChunks(STEP, first, last, total, CHUNK, (from, to) =>
    knex.raw(
      `INSERT INTO ticket_search (rowid, problem, resolution, conversation)
       SELECT t.id, t.description, COALESCE(t.resolution, ''),
              COALESCE((SELECT group_concat(m.text, char(10)) FROM (SELECT text FROM ticket_messages WHERE ticket_id = t.id ORDER BY id) m), '')
       FROM tickets t WHERE t.id BETWEEN ? AND ?`,
      [from, to],
    ),
  );
  await knex.raw(`CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, problem, resolution, conversation) VALUES (new.id, new.description, COALESCE(new.resolution, ''), '');
  END`);
  await knex.raw(`CREATE TRIGGER ticket_search_update AFTER UPDATE OF description, resolution ON tickets
    WHEN old.description IS NOT new.description OR old.resolution IS NOT new.resolution BEGIN
    UPDATE ticket_search SET problem = new.description, resolution = COALESCE(new.resolution, '') WHERE rowid = new.id;
  END`);
  await knex.raw('CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets BEGIN DELETE FROM ticket_search WHERE rowid = old.id; END');
  await knex.raw(`CREATE TRIGGER ticket_search_message AFTER INSERT ON ticket_messages BEGIN
    UPDATE ticket_search SET conversation = CASE WHEN conversation = '' THEN new.text ELSE conversation || char(10) || new.text END WHERE rowid = new.ticket_id;
  END`);
}

export async function down(knex: Knex): Promise<void> {
  for (const trigger of ['ticket_search_insert', 'ticket_search_update', 'ticket_search_delete', 'ticket_search_message']) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
  await knex.raw('DROP TABLE IF EXISTS ticket_search');
}
