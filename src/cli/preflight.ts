/**
 * What a run checks before it reads a byte (issue #12): a mistake an operator can fix must fail
 * at once with exit 2 and a message naming it, not after the load (`--report` into a folder that
 * does not exist failed only once every file was renamed), and not as a quiet success (a
 * `--pattern` whose folder does not exist matched nothing and exited 0, which cron never shows).
 */
import { accessSync, closeSync, constants, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import type { RunOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { patternFolder } from '../logfile/folder-lock.js';
import { makeFolder } from '../logfile/make-folder.js';

export function preflight(options: RunOptions, report: string | null): void {
  checkPattern(options.pattern);
  if (report !== null && report !== '-') checkWritable('--report', report);
}

export function checkPattern(pattern: string): void {
  if (!isDynamicPattern(pattern) && isDirectory(pattern)) {
    const hint = `${pattern.replace(/\/+$/, '')}/*.tsv.gz`;
    throw new ConfigError(`--pattern ${pattern} is a folder, not a pattern of files; did you mean ${hint}?`, { file: pattern });
  }
  const folder = patternFolder(pattern);
  if (!isDirectory(folder)) {
    throw new ConfigError(`--pattern ${pattern}: the folder ${folder} does not exist (or is not a folder); check the path`, { file: folder });
  }
}

/**
 * Opens the file for appending, as the run will, and removes it again if it made it: access(2)
 * answers yes for root whatever the path (`--report /proc/x` passed it and failed after the load).
 */
function checkWritable(flag: string, path: string): void {
  if (isDirectory(path)) throw new ConfigError(`${flag} ${path} is a folder; give a file name`, { file: path });
  const existed = exists(path);
  try {
    closeSync(openSync(path, 'a'));
    if (!existed) unlinkSync(path);
  } catch (err) {
    const why = (err as Error).message;
    throw new ConfigError(existed ? `${flag}: cannot write ${path} (${why})` : `${flag}: cannot write ${path}: its folder ${dirname(path)} is missing or not writable (${why})`, { file: path });
  }
}

/**
 * A folder this run writes into (enqueue's --spool): made now if missing, and a file made and
 * removed in it, so a folder that cannot be made or written fails before anything is planned.
 */
export async function checkFolderWritable(flag: string, path: string): Promise<void> {
  const probe = join(path, `.memc-load-probe-${process.pid}`);
  try {
    await makeFolder(path);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw new ConfigError(`${flag}: cannot write into the folder ${path} (${(err as Error).message})`, { file: path });
  }
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
