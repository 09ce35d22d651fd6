/**
 * The summary search index: every entry's summary as the set of its two-character sequences
 * ("bigrams"), so `summary=` contains-searches seek the few entries holding all of the needle's bigrams
 * instead of reading every summary. Bigrams, not trigrams, because a two-character Chinese word
 * ("张三", "用户") is the commonest search there is. Candidates are then checked with LIKE on the row,
 * so the index only has to be complete, never exact.
 */

/** How many of a needle's bigrams a search joins; more narrows little and costs a join each. */
const MAX_SEARCH_GRAMS = 8;

/**
 * Text folded the way the summary column's collation (utf8mb4_unicode_ci) compares it: case, accents
 * and full-width forms, so a needle finds what LIKE would find.
 */
export function foldForSearch(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

function bigrams(folded: string): number[] {
  const grams = new Set<number>();
  // Two UTF-16 code units as one integer: compact, and compared without any collation.
  for (let i = 0; i + 1 < folded.length; i++)
    grams.add(folded.charCodeAt(i) * 0x10000 + folded.charCodeAt(i + 1));
  return [...grams];
}

/** The bigrams stored for one summary. */
export function summaryGrams(summary: string): number[] {
  return bigrams(foldForSearch(summary));
}

/**
 * The bigrams a search for `needle` joins on: all of them up to MAX_SEARCH_GRAMS, else that many
 * spread from its start to its end. Empty when the needle is a single character (no bigram to seek).
 */
export function searchGrams(needle: string): number[] {
  const grams = bigrams(foldForSearch(needle));
  if (grams.length <= MAX_SEARCH_GRAMS) return grams;
  const step = (grams.length - 1) / (MAX_SEARCH_GRAMS - 1);
  return Array.from({ length: MAX_SEARCH_GRAMS }, (_, i) => grams[Math.round(i * step)]);
}
