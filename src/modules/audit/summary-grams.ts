/**
 * The summary search index: every entry's summary as the set of its three-character sequences
 * (trigrams), so a `summary=` contains-search intersects a few short posting lists instead of reading
 * every summary. Each summary is indexed with two end markers, so a trigram also stands for its one-
 * and two-character prefixes: a needle of one or two characters ("张三") is a key range of trigrams.
 * Candidates are checked against the row with LIKE, so the index only has to be complete, never exact.
 */

/** The key range(s) a search reads, each `[low, high]` inclusive. */
export type GramRange = [number, number];

/** How many of a long needle's trigrams a search reads; more narrows little and costs a list each. */
const MAX_SEARCH_GRAMS = 6;
const END = 0;
const UNIT = 0x10000;

/**
 * Text folded the way the summary column's collation (utf8mb4_unicode_ci) compares it: case, accents
 * and full-width forms, so a needle finds what LIKE would find.
 */
export function foldForSearch(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Three UTF-16 code units as one integer below 2^48: compact, exact in a double, no collation. */
const key = (a: number, b: number, c: number): number => (a * UNIT + b) * UNIT + c;

/** The distinct trigram keys stored for one summary. */
export function summaryGrams(summary: string): number[] {
  const folded = foldForSearch(summary);
  const units = [...Array.from({ length: folded.length }, (_, i) => folded.charCodeAt(i)), END, END];
  const grams = new Set<number>();
  for (let i = 0; i + 2 < units.length; i++) grams.add(key(units[i], units[i + 1], units[i + 2]));
  return [...grams];
}

/**
 * The ranges a search for `needle` reads: one per trigram (a single key) for three characters or
 * more, at most MAX_SEARCH_GRAMS of them spread from start to end; the prefix range for one or two.
 */
export function searchRanges(needle: string): GramRange[] {
  const folded = foldForSearch(needle);
  const u = (i: number): number => folded.charCodeAt(i);
  if (folded.length === 0) return [];
  if (folded.length === 1) return [[key(u(0), 0, 0), key(u(0), UNIT - 1, UNIT - 1)]];
  if (folded.length === 2) return [[key(u(0), u(1), 0), key(u(0), u(1), UNIT - 1)]];
  const grams = [
    ...new Set(Array.from({ length: folded.length - 2 }, (_, i) => key(u(i), u(i + 1), u(i + 2)))),
  ];
  const picked =
    grams.length <= MAX_SEARCH_GRAMS
      ? grams
      : Array.from(
          { length: MAX_SEARCH_GRAMS },
          (_, i) => grams[Math.round((i * (grams.length - 1)) / (MAX_SEARCH_GRAMS - 1))],
        );
  return picked.map((gram) => [gram, gram]);
}
