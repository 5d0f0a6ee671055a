/**
 * What a run checks before it reads a byte (issue #12): a mistake an operator can fix must fail
 * at once with exit 2 and a message naming it, not after the load (`--report` into a folder that
 * does not exist failed only once every file was renamed), and not as a quiet success (a
 * `--pattern` whose folder does not exist matched nothing and exited 0, which cron never shows).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import type { RunOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { patternFolder } from '../logfile/folder-lock.js';

export function preflight(options: RunOptions, report: string | null): void {
  checkPattern(options.pattern);
  if (report !== null && report !== '-') checkWritable('--report', report);
}

function checkPattern(pattern: string): void {
  if (!isDynamicPattern(pattern) && isDirectory(pattern)) {
    const hint = `${pattern.replace(/\/+$/, '')}/*.tsv.gz`;
    throw new ConfigError(`--pattern ${pattern} is a folder, not a pattern of files; did you mean ${hint}?`, { file: pattern });
  }
  const folder = patternFolder(pattern);
  if (!isDirectory(folder)) {
    throw new ConfigError(`--pattern ${pattern}: the folder ${folder} does not exist (or is not a folder); check the path`, { file: folder });
  }
}

function checkWritable(flag: string, path: string): void {
  const why = (err: unknown) => (err as Error).message;
  if (isDirectory(path)) throw new ConfigError(`${flag} ${path} is a folder; give a file name`, { file: path });
  try {
    accessSync(path, constants.F_OK);
  } catch {
    // Not there yet: its folder must take a new file.
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch (err) {
      throw new ConfigError(`${flag}: cannot write ${path}: its folder ${dirname(path)} is missing or not writable (${why(err)})`, { file: path });
    }
    return;
  }
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`${flag}: cannot write ${path} (${why(err)})`, { file: path });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
