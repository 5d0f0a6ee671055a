import { isUtf8 } from 'node:buffer';
import { lstat, realpath, stat, type Stats } from 'node:fs';
import { lstat as lstatAsync, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { glob, type GlobOptions } from 'tinyglobby';
import { LOCK_FILE } from './folder-lock.js';

/** A pattern's match whose name is not UTF-8: it cannot be opened by the name Node gives it. */
export interface BadName {
  /** The name as Node decodes it (U+FFFD for each bad byte): for order and messages. */
  readonly path: string;
  /** What is wrong and the `mv` that fixes it. */
  readonly why: string;
}

export interface Listing {
  /** Pending files, oldest first; dangling links that match the pattern are among them. */
  readonly files: string[];
  /** Matches whose names are not UTF-8, not in `files`. */
  readonly badNames: BadName[];
  /** The matches' done files (dot-prefixed, logfile/mark-done.ts), in no order. */
  readonly done: string[];
}

/**
 * The files a pattern selects, oldest first (or the `given` files, in their order), and its done
 * files, from one listing of the folders (a scrape asks both: pending.ts, lag.ts). Names are
 * timestamps, so sorting by base name is chronological whatever folders they sit in; the full
 * path breaks ties so the order is total.
 * Dot-prefixed files are already loaded (SPEC.md) and are never pending; the folder lock's
 * files (folder-lock.ts) are neither pending nor done.
 *
 * A symbolic link whose target does not exist (its storage not mounted yet) is a pending file
 * that cannot be read yet: it is listed, so reading it fails, names it, and holds back the later
 * files as a half-written file does (issue #18, item 6). tinyglobby drops such links (it stats
 * every link), so the two `fs` calls it makes on a link are given the link itself when its
 * target is missing.
 *
 * A name that is not UTF-8 comes back from the glob with U+FFFD in place of its bad bytes, a
 * name that does not exist. Its minute cannot be known, so it does not take a place in the order:
 * it is listed apart (`badNames`), with its bytes and the `mv` that renames it.
 */
export async function listPattern(pattern: string, given?: readonly string[]): Promise<Listing> {
  const { pending, done } = await matchPattern(pattern);
  // Files the caller names (the library's hooks.files) keep its order; the done files are still the pattern's.
  const { files, badNames } = await setApart(given ?? pending.sort(byName));
  return { files, badNames: badNames.sort((a, b) => byName(a.path, b.path)), done };
}

/**
 * The pattern's matches as named, not yet told apart (setApart does), and its done files: one
 * glob of the pattern and of its done files' pattern, which walks the folders once. Hidden folders
 * are passed over as before (a NetApp `.snapshot` holds copies, not pending files).
 */
async function matchPattern(pattern: string): Promise<{ pending: string[]; done: string[] }> {
  const marked = donePattern(pattern);
  const found = await glob(marked === null ? [pattern] : [pattern, marked], GLOB);
  // A pattern whose last part cannot be told (a `**`, a `/` in braces): its done files by a second glob, as before.
  const dotted = marked === null ? await glob(pattern, { ...GLOB, dot: true }) : found;
  return { pending: found.filter((p) => !basename(p).startsWith('.')), done: dotted.filter(isDone) };
}

/** Paths to load, in their order, without the names that are not UTF-8 (listed apart, each with its `mv`). */
async function setApart(paths: readonly string[]): Promise<{ files: string[]; badNames: BadName[] }> {
  const files: string[] = [];
  const badNames: BadName[] = [];
  for (const path of paths) {
    if (path.includes('\uFFFD') && !(await exists(path))) badNames.push(...(await describeBadNames(path)));
    else files.push(path);
  }
  return { files, badNames };
}

/**
 * The pattern of the done files of `pattern`'s matches: a dot before its last part (`/d/*.gz` →
 * `/d/.*.gz`). Null when the last part is not one name: a `**`, or a `/` inside braces.
 */
export function donePattern(pattern: string): string | null {
  let depth = 0;
  let cut = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if ((c === '}' || c === ']' || c === ')') && depth > 0) depth--;
    else if (c === '/' && depth === 0) cut = i;
  }
  const last = pattern.slice(cut + 1);
  if (last === '' || last.includes('/') || last.includes('**')) return null;
  return `${pattern.slice(0, cut + 1)}.${last}`;
}

function isDone(path: string): boolean {
  const name = basename(path);
  return name.length > 1 && name.startsWith('.') && !name.startsWith(LOCK_FILE);
}

/**
 * Every match, pending files and bad names alike, in order: for callers that do not ask
 * selectPending (logfile/pending.ts) yet. A bad name then fails where it is read (ENOENT), as
 * before, rather than being skipped without a word.
 */
export async function listLogFiles(pattern: string): Promise<string[]> {
  const { files, badNames } = await listPattern(pattern);
  return badNames.length === 0 ? files : [...files, ...badNames.map((b) => b.path)].sort(byName);
}

/** The load order: by base name (a timestamp), then by full path. */
export function byName(a: string, b: string): number {
  return compare(basename(a), basename(b)) || compare(a, b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const unresolved = (err: NodeJS.ErrnoException | null) => err !== null && (err.code === 'ENOENT' || err.code === 'ELOOP');

/**
 * For tinyglobby: a link whose target is missing resolves to itself, and stats as the link.
 * fdir calls only these two, in their callback form; the type asks for fs's promisified extras.
 */
const danglingAsFiles = {
  realpath(path: string, cb: (err: NodeJS.ErrnoException | null, resolved: string) => void): void {
    realpath(path, (err, resolved) => (unresolved(err) ? cb(null, path) : cb(err, resolved)));
  },
  stat(path: string, cb: (err: NodeJS.ErrnoException | null, stats: Stats) => void): void {
    stat(path, (err, stats) => {
      if (!unresolved(err)) return cb(err, stats);
      lstat(path, (lerr, link) => (lerr === null && link.isSymbolicLink() ? cb(null, link) : cb(err, stats)));
    });
  },
} as unknown as NonNullable<GlobOptions['fs']>;

const GLOB = { absolute: true, onlyFiles: true, dot: false, expandDirectories: false, fs: danglingAsFiles } as const;

async function exists(path: string): Promise<boolean> {
  return lstatAsync(path).then(
    () => true,
    () => false,
  );
}

/** The entries of `lossy`'s folder that decode to its name and are not UTF-8. */
async function describeBadNames(lossy: string): Promise<BadName[]> {
  const dir = dirname(lossy);
  const entries = await readdir(dir, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  return entries
    .filter((raw) => !isUtf8(raw) && raw.toString('utf8') === basename(lossy))
    .map((raw) => {
      const shown = shellBytes(Buffer.concat([Buffer.from(`${dir}/`), raw]));
      const fixed = join(dir, basename(lossy).replaceAll('\uFFFD', '_'));
      return {
        path: lossy,
        why:
          `the file name ${shown} is not UTF-8, so it cannot be opened by name; it is not loaded, and, its minute being unknown, ` +
          `it holds back no other file. Rename it to the minute it holds (ASCII digits), e.g.: mv -- ${shown} '${fixed.replaceAll("'", `'\\''`)}'`,
      };
    });
}

/** Bytes as a bash $'…' word: printable ASCII as is, anything else as \xNN. */
function shellBytes(bytes: Buffer): string {
  let out = "$'";
  for (const b of bytes) {
    if (b === 0x27 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}'`;
}
