// Words, one definition for the word index and for the words searched
// (server/history/word-index.ts, word-search.ts), the same on both engines:
// a word is a run of letters and digits once the text is decomposed
// (NFKD), its accents and other marks dropped and its letters lower-cased —
// so "Écran", "ecran" and "ÉCRAN" are one word, and "100%" is the word 100.
// A word longer than MAX_WORD_CHARS is kept as its first MAX_WORD_CHARS
// (the index's column), for the text and for the search alike.

export const MAX_WORD_CHARS = 32;
/** Words a search takes (the rest of a longer text is ignored). */
export const MAX_QUERY_WORDS = 8;

const nonWord = /[^\p{L}\p{N}]+/u;

/** The text's words, in order, repeats included. */
export function wordsOf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().split(nonWord)) {
    if (!raw) continue;
    const chars = [...raw];
    out.push(chars.length > MAX_WORD_CHARS ? chars.slice(0, MAX_WORD_CHARS).join('') : raw);
  }
  return out;
}

/** The distinct words of several texts. */
export function wordSetOf(texts: readonly (string | null | undefined)[]): Set<string> {
  const set = new Set<string>();
  for (const t of texts) if (t) for (const w of wordsOf(t)) set.add(w);
  return set;
}

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
  const prefixLast = /[\p{L}\p{N}\p{M}]$/u.test(trimmed);
  const last = all.at(-1)!;
  // A word typed twice is one condition; the last one keeps its place (its prefix) when it repeats an earlier one.
  const words = [...new Set(all.slice(0, -1))].filter((w) => w !== last).slice(0, MAX_QUERY_WORDS - 1);
  words.push(last);
  return { words, prefixLast };
}
