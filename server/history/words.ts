// Words, one definition for the word index and for the words searched
// (server/history/word-index.ts, word-search.ts), the same on both engines:
// a word is a run of letters and digits once the text is decomposed
// (NFKD), its accents and other marks dropped and its letters lower-cased —
// so "Écran", "ecran" and "ÉCRAN" are one word, and "100%" is the word 100.
// (The definition is migrations/words.ts, which the index's migration shares.)
import { wordsOf } from '../../migrations/words.ts';

export { MAX_WORD_CHARS, wordSetOf, wordsOf } from '../../migrations/words.ts';

/** Words a search takes (the rest of a longer text is ignored). */
export const MAX_QUERY_WORDS = 8;

export interface WordQuery {
  /** Distinct words in the order typed (at most MAX_QUERY_WORDS). */
  words: string[];
  /** The last word matches as a prefix: the text ends inside it (nothing after it, not even "%" or "."). */
  prefixLast: boolean;
}

/** What a search box's text asks for, or null when it holds no word. */
export function wordQueryOf(text: string | undefined): WordQuery | null {
  const trimmed = (text ?? '').trim();
  const all = wordsOf(trimmed);
  if (all.length === 0) return null;
  const last = all.at(-1)!;
  // A word typed twice is one condition; the last one, typed before too, is that whole word (no longer a prefix).
  const earlier = [...new Set(all.slice(0, -1))];
  const prefixLast = /[\p{L}\p{N}\p{M}]$/u.test(trimmed) && !earlier.includes(last);
  const words = earlier.filter((w) => w !== last).slice(0, MAX_QUERY_WORDS - 1);
  words.push(last);
  return { words, prefixLast };
}
