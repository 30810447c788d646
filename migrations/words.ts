// Words, one definition for the word index (migrations/031_word_postings.ts,
// server/history/word-index.ts) and for the words searched
// (server/history/words.ts), the same on both engines: a word is a run of
// letters and digits once the text is decomposed (NFKD), its accents and
// other marks dropped and its letters lower-cased — so "Écran", "ecran" and
// "ÉCRAN" are one word, and "100%" is the word 100. A word longer than
// MAX_WORD_CHARS is kept as its first MAX_WORD_CHARS (the index's column),
// for the text and for the search alike. (Here, not in server/, because the
// migration that builds the index imports nothing from the server.)
export const MAX_WORD_CHARS = 32;
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
