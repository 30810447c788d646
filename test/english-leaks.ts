// Finds English left in a page or a terminal read in another language: the
// literal pieces of every English catalogue string (split at its {placeholders})
// that the same key's translation does not also contain (a brand, a code, a
// unit is the same in every language and is skipped, and so is a piece a
// translation uses anywhere), searched verbatim, as
// whole words, in what a person reads. Shared by the admin web's test
// (admin-web/english-leaks.test.ts) and the terminal client's.

/** Words from outside the catalogues that once leaked (uPlot's legend, sizes spelled out). */
export const foreignEnglish = ['Time', 'Value', 'key presses'];

export interface Leak {
  key: string;
  text: string;
}

/** The English pieces to look for: `translations` are the other catalogues with the same keys. */
export function englishPieces(english: Record<string, string>, translations: Record<string, string>[], allow: readonly string[] = []): Leak[] {
  const pieces: Leak[] = [];
  for (const [key, template] of Object.entries(english)) {
    for (const raw of template.split(/\{\w+\}/)) {
      const text = raw.trim().replace(/^[\s"'“”«»(),.:;!?—–-]+|[\s"'“”«»(),.:;!?—–-]+$/g, '');
      // Short pieces ("min", "OK", "ID") and pieces with no letters say too little to be a leak.
      if ((text.match(/[A-Za-z]/g) ?? []).length < 4) continue;
      // Said the same in a translation (this key's or another's: "Ticket #" in Spanish too), it is that language's word as well.
      if (translations.some((other) => (other[key] ?? '').includes(text) || Object.values(other).some((v) => v.includes(text)))) continue;
      if (allow.some((a) => a === text)) continue;
      pieces.push({ key, text });
    }
  }
  for (const text of foreignEnglish) if (!allow.includes(text)) pieces.push({ key: '(foreign)', text });
  return pieces;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pieces that `text` contains as whole words (case as written). */
export function leaksIn(text: string, pieces: readonly Leak[]): Leak[] {
  return pieces.filter((p) => new RegExp(`(?<![A-Za-z])${escape(p.text)}(?![A-Za-z])`).test(text));
}
