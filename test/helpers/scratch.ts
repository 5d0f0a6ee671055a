import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A test file's scratch folder: `dataset` is generated once, and each test loads a fresh copy
 * of it (the loader renames what it loads, so a copy can be used by one run only).
 */
export class Scratch {
  readonly root: string;
  readonly dataset: string;

  constructor(prefix: string) {
    this.root = mkdtempSync(join(tmpdir(), prefix));
    this.dataset = join(this.root, 'dataset');
  }

  /** A copy of `from` (the dataset by default) in a new folder `name`. */
  copy(name: string, from: string = this.dataset): string {
    const dir = join(this.root, name);
    cpSync(from, dir, { recursive: true });
    return dir;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A fresh folder under `root` at every call (f0, f1, …), for tests that need one each. */
export function folderMaker(root: string): () => string {
  let n = 0;
  return () => {
    const dir = join(root, `f${n++}`);
    mkdirSync(dir);
    return dir;
  };
}

/** For building a RegExp out of a file name or an address. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
