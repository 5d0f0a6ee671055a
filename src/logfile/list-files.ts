import { basename } from 'node:path';
import { glob } from 'tinyglobby';

/**
 * The files a pattern selects, oldest first. Names are timestamps, so sorting by base name is
 * chronological whatever folders they sit in; the full path breaks ties so the order is total.
 * Dot-prefixed files are already loaded (SPEC.md) and never match.
 */
export async function listLogFiles(pattern: string): Promise<string[]> {
  const found = await glob(pattern, { absolute: true, onlyFiles: true, dot: false, expandDirectories: false });
  return found
    .filter((path) => !basename(path).startsWith('.'))
    .sort((a, b) => compare(basename(a), basename(b)) || compare(a, b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
