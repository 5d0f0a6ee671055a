/**
 * Another commit's loader, built beside this tree for `npm run bench:compare`: its files exported
 * with `git archive` into bench/.cache/builds/<commit> (ignored; no worktree is registered in the
 * repository, so a killed run leaves nothing behind in git), given node_modules and built as a
 * clone would be. Built once per commit: the next comparison reuses it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildInfo } from './before-after.js';
import { CACHE_DIR } from './dataset.js';
import { log } from './log.js';

export interface Build extends BuildInfo {
  /** The bin to run: `<dir>/bin/memc-load.js`. */
  readonly bin: string;
}

const git = (root: string, args: readonly string[]): string =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** The full commit a ref names, or an Error that says the ref is unknown. */
export function resolveCommit(root: string, ref: string): string {
  try {
    return git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`${JSON.stringify(ref)} is not a commit in ${root}`);
  }
}

/** Runs a build step in `cwd`, its output in the bench log; an Error naming the step when it fails. */
function step(cwd: string, cmd: string, args: readonly string[]): void {
  log(`  ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (${r.error?.message ?? `exit ${r.status ?? r.signal}`}):\n${tail}`);
  }
}

const STAMP = '.bench-build.json';

/**
 * `ref` of the repository at `root`, built in bench/.cache/builds/<commit>: node_modules is a link
 * to `root`'s when the two package-lock.json are the same bytes (else `npm ci`), then
 * `npm run build`, then the native addon when the commit has scripts/build-native.mjs.
 */
export async function buildOf(root: string, ref: string): Promise<Build> {
  const commit = resolveCommit(root, ref);
  const short = git(root, ['rev-parse', '--short', commit]);
  const dir = join(CACHE_DIR, 'builds', commit);
  const bin = join(dir, 'bin', 'memc-load.js');
  const stamp = join(dir, STAMP);
  if (existsSync(stamp)) {
    const how = (JSON.parse(readFileSync(stamp, 'utf8')) as { how: string }).how;
    log(`build of ${ref} (${short}): reused ${dir}`);
    return { ref, commit: short, how, bin };
  }
  log(`build of ${ref} (${short}) in ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // git archive | tar, without a shell: the archive is held in memory (a few MB).
  const tar = execFileSync('git', ['-C', root, 'archive', '--format=tar', commit], { maxBuffer: 1 << 30 });
  const x = spawnSync('tar', ['-x', '-C', dir], { input: tar, stdio: ['pipe', 'ignore', 'pipe'] });
  if (x.status !== 0) throw new Error(`tar -x into ${dir} failed: ${x.stderr?.toString().trim()}`);
  const hows: string[] = [];
  const lock = (p: string): string | null => (existsSync(p) ? readFileSync(p, 'utf8') : null);
  const own = lock(join(root, 'package-lock.json'));
  if (own !== null && own === lock(join(dir, 'package-lock.json')) && existsSync(join(root, 'node_modules'))) {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    hows.push("node_modules linked (same package-lock.json)");
  } else {
    // Its own install scripts are left to the steps below, as for a linked node_modules.
    step(dir, 'npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
    hows.push('npm ci (its package-lock.json differs)');
  }
  step(dir, 'npm', ['run', 'build']);
  if (existsSync(join(dir, 'scripts', 'build-native.mjs'))) {
    step(dir, process.execPath, ['scripts/build-native.mjs']);
    hows.push(existsSync(join(dir, 'native', 'isal-inflate', 'build', 'Release')) ? 'native ISA-L addon built' : 'native addon not built (zlib)');
  } else {
    hows.push('no native addon at that commit');
  }
  if (!existsSync(bin)) throw new Error(`${ref} (${short}) has no bin/memc-load.js: it cannot be benchmarked`);
  const how = hows.join(', ');
  writeFileSync(stamp, `${JSON.stringify({ ref, commit, how })}\n`);
  return { ref, commit: short, how, bin };
}
