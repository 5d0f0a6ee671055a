/**
 * "did you mean" for a mistyped flag or config key. Optimal string alignment distance (Levenshtein
 * plus adjacent swaps: `--patern`, `--wrokers`), written out here: twenty lines for words of a
 * few dozen characters do not warrant a dependency.
 */

export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * `; did you mean --pattern?` for the closest known name, or ''. Underscores count as dashes (a
 * config file's `max_error_rate`); a third of the word may differ, so short words need near-exact
 * spelling and unrelated ones are not suggested.
 */
export function suggest(given: string, known: readonly string[], prefix = '--', suffix = ''): string {
  const word = given.replace(/^-+/, '').split('=')[0]!.replace(/_/g, '-').toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    // Lower case both: the library's camelCase names (connectTimeoutMs) are matched as the flags are.
    const d = distance(word, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? `; did you mean ${prefix}${best}${suffix}?` : '';
}
