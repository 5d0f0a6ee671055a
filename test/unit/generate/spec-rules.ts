/**
 * The generator's tests classify lines with the shared SPEC.md model (test/helpers/spec-model.ts),
 * never with the production parser: a generator checked against the code it is meant to test
 * would hide a shared bug.
 */
import { judgeLine, MiB, SPEC_TYPES } from '../../helpers/spec-model.js';

export { splitLines } from '../../helpers/spec-model.js';

export type Outcome = 'blank' | 'too_long' | 'fields' | 'empty' | 'type' | 'key' | 'geo' | 'warn' | 'valid';

export const DEV_TYPES: readonly string[] = SPEC_TYPES;

/** `line` is one line as latin1 text, without its `\n` (a trailing `\r` may remain). */
export function classify(line: string, maxLineBytes = MiB): Outcome {
  const v = judgeLine(line, maxLineBytes);
  if (typeof v === 'string') return v;
  return v.dropped ? 'warn' : 'valid';
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
