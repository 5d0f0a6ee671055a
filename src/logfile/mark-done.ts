import { lstat, rename } from 'node:fs/promises';
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

/**
 * Undoes markDone: the file is pending again. rename(2) would replace a file that now sits at the
 * original name, so that is refused (EEXIST). Checking first leaves a window of a few
 * microseconds; Node has no renameat2(RENAME_NOREPLACE).
 */
export async function markPending(path: string): Promise<void> {
  const exists = await lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (exists) throw Object.assign(new Error(`EEXIST: ${path} already exists`), { code: 'EEXIST' });
  await rename(donePath(path), path);
}
