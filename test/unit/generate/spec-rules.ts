/**
 * SPEC.md "A line", restated for the generator's tests on purpose without the production
 * parser: a generator checked against the code it is meant to test would hide a shared bug.
 * Slow and literal (regexes, strings): it only has to be obviously right.
 */
export type Outcome = 'blank' | 'too_long' | 'fields' | 'empty' | 'type' | 'key' | 'geo' | 'warn' | 'valid';

export const DEV_TYPES = ['idfa', 'gaid', 'adid', 'dvid'];
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');

/** `line` is one line as latin1 text, without its `\n` (a trailing `\r` may remain). */
export function classify(line: string, maxLineBytes = 1024 * 1024): Outcome {
  const s = line.replace(/[\r\n]+$/, '');
  if (/^[ \t\n\v\f\r]*$/.test(s)) return 'blank';
  if (s.length > maxLineBytes) return 'too_long';
  const f = s.split('\t');
  if (f.length !== 5) return 'fields';
  if (f[0] === '' || f[1] === '') return 'empty';
  if (!DEV_TYPES.includes(f[0])) return 'type';
  const key = `${f[0]}:${f[1]}`;
  if (key.length > 250 || /[\x00-\x20\x7f]/.test(key)) return 'key';
  for (const g of [f[2], f[3]]) {
    const t = trimSpaces(g);
    if (!DECIMAL.test(t) || !Number.isFinite(Number(t))) return 'geo';
  }
  const apps = f[4] === '' ? [] : f[4].split(',');
  const dropped = apps.some((a) => {
    const t = trimSpaces(a);
    return !/^\d+$/.test(t) || Number(t) > 4294967295;
  });
  return dropped ? 'warn' : 'valid';
}

/** Lines of a decompressed file, without their `\n`; a final empty piece is not a line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function keyOf(line: string): string {
  const f = line.replace(/[\r\n]+$/, '').split('\t');
  return `${f[0]}:${f[1]}`;
}

export function countBy<T extends string>(items: Iterable<T>): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}
