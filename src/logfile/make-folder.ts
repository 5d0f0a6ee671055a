/**
 * `mkdir -p` that ends. Node's `mkdir(path, { recursive: true })` loops for ever, at full CPU,
 * when mkdir answers ENOENT although the parent exists (any path under /proc, some FUSE mounts):
 * `generate --out /proc/x` and a worker's split into such a spool spun instead of failing
 * (issue #20, item 6). Here an ENOENT with the parent in place is final.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Makes `path` and its missing parents; rejects with the errno error of the step that failed. */
export async function makeFolder(path: string): Promise<void> {
  const abs = resolve(path);
  try {
    await mkdir(abs);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') {
      if (await isFolder(abs)) return;
      throw Object.assign(new Error(`${abs} exists and is not a folder`), { code: 'ENOTDIR' });
    }
    const parent = dirname(abs);
    if (e.code !== 'ENOENT' || parent === abs || (await isFolder(parent))) throw err;
    await makeFolder(parent);
    // Made by another process meanwhile is as good as made here.
    await mkdir(abs).catch(async (again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST' || !(await isFolder(abs))) throw again;
    });
  }
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
