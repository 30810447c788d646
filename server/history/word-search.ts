// Words in the problem, the resolution or the conversation, on each engine's
// word index (migrations/022_history_search.ts), with one meaning: every
// word must appear (in any of the three), the last one as a prefix unless
// the text ends after it with punctuation ("100%" asks for the word 100, not
// 1000), case and accents ignored. Words are runs of letters, marks and
// digits — what both indexes' tokenizers (SQLite unicode61, InnoDB's
// full-text parser) take as a word — so nothing the user types reaches the
// index's query syntax as an operator or a wildcard.
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';

const MAX_WORDS = 8;

export interface WordQuery {
  words: string[];
  /** The last word matches as a prefix. */
  prefixLast: boolean;
}

export function wordQueryOf(text: string | undefined): WordQuery | null {
  const trimmed = (text ?? '').normalize('NFC').trim();
  const words = trimmed.split(/[^\p{L}\p{M}\p{N}]+/u).filter(Boolean).slice(0, MAX_WORDS);
  if (words.length === 0) return null;
  return { words, prefixLast: /[\p{L}\p{M}\p{N}]$/u.test(trimmed) };
}


/** FTS5: each word a quoted string (implicit AND), the last one with * for a prefix. */
export function fts5Match(q: WordQuery): string {
  return q.words.map((w, i) => `"${w}"${q.prefixLast && i === q.words.length - 1 ? '*' : ''}`).join(' ');
}

const minTokenSizes = new WeakMap<Knex, Promise<number>>();

/** InnoDB's innodb_ft_min_token_size (read once per database handle): shorter words are not in the index. */
function minTokenSize(db: Knex): Promise<number> {
  let size = minTokenSizes.get(db);
  if (!size) {
    size = db.raw('SELECT @@innodb_ft_min_token_size AS size').then((r: [{ size: number | string }[]]) => Number(r[0][0]?.size ?? 3));
    minTokenSizes.set(db, size);
  }
  return size;
}

const escapeLike = (s: string) => s.replace(/[!%_]/g, (c) => `!${c}`);

/**
 * The ids of the tickets whose words match, as a subquery (a raw fragment
 * with its bindings). MariaDB: BOOLEAN MODE with +word and +prefix*; a word
 * shorter than the server's minimum token size is not indexed there, so it
 * is matched as a substring (LIKE, same collation: case- and
 * accent-insensitive) among the tickets the other words found.
 */
export async function matchingIds(db: Knex, query: WordQuery): Promise<{ sql: string; bindings: string[] }> {
  if (!isMysql(db)) return { sql: 'SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ?', bindings: [fts5Match(query)] };
  const min = await minTokenSize(db);
  const last = query.words.length - 1;
  const indexed = query.words.map((w, i) => ({ w, prefix: query.prefixLast && i === last })).filter(({ w }) => [...w].length >= min);
  const short = query.words.filter((w) => [...w].length < min);
  const conditions: string[] = [];
  const bindings: string[] = [];
  if (indexed.length) {
    conditions.push('MATCH (problem, resolution, conversation) AGAINST (? IN BOOLEAN MODE)');
    bindings.push(indexed.map(({ w, prefix }) => `+${w}${prefix ? '*' : ''}`).join(' '));
  }
  for (const w of short) {
    conditions.push("(problem LIKE ? ESCAPE '!' OR resolution LIKE ? ESCAPE '!' OR conversation LIKE ? ESCAPE '!')");
    const like = `%${escapeLike(w)}%`;
    bindings.push(like, like, like);
  }
  return { sql: `SELECT ticket_id AS id FROM ticket_search WHERE ${conditions.join(' AND ')}`, bindings };
}

/**
 * Restricts a tickets query to those whose words match. On MariaDB the
 * matching ids are a derived table the LIMIT keeps materialized (one column,
 * read once from the full-text index) and joined by primary key: about
 * twice as fast as `IN (…)`, which the optimizer runs as a semi-join through
 * a temporary table.
 */
export async function whereWords(db: Knex, q: Knex.QueryBuilder, query: WordQuery): Promise<void> {
  const ids = await matchingIds(db, query);
  if (isMysql(db)) q.join(db.raw(`(${ids.sql} LIMIT 18446744073709551615) AS words`, ids.bindings), 'words.id', 'tickets.id');
  else q.whereRaw(`tickets.id IN (${ids.sql})`, ids.bindings);
}
