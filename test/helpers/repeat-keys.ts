/**
 * Log files whose keys each appear twice, GAP lines apart, with different values: any reordering
 * of the two writes leaves the older value behind, and the oracle sees it. For the fault tests of
 * the last-line-wins contract (partitions, frozen servers).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TYPES } from './oracle.js';

/** A key's second line comes this many lines after its first. */
export const GAP = 400;

/** Writes `<dir>/<name>`: `lines` lines in blocks of GAP, the first values of GAP keys, then their second values. */
export function writeRepeatKeysFile(dir: string, name: string, fileNo: number, lines: number): string {
  const out: string[] = [];
  for (let block = 0; out.length < lines; block++) {
    for (const round of [0, 1]) {
      for (let i = 0; i < GAP; i++) {
        const n = fileNo * lines + block * GAP + i;
        const type = TYPES[n % 4] as string;
        out.push(`${type}\tdev${n}\t${55 + round}.5\t42.${fileNo}\t${n},${round},${fileNo}`);
      }
    }
  }
  const path = join(dir, name);
  writeFileSync(path, gzipSync(`${out.join('\n')}\n`));
  return path;
}
