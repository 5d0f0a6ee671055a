import { rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where a loaded file goes: same folder, dot-prefixed, so the glob never selects it again. */
export function donePath(path: string): string {
  return join(dirname(path), `.${basename(path)}`);
}

/** rename(2) within one folder is atomic: the file is either pending or done, never both. */
export async function markDone(path: string): Promise<string> {
  const target = donePath(path);
  await rename(path, target);
  return target;
}
