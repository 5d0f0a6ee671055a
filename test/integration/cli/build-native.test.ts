/**
 * scripts/build-native.mjs never fails the install (package.json's `install`): with
 * MEMC_LOAD_SKIP_NATIVE=1 it builds nothing, and when a compiler fails
 * (MEMC_LOAD_SIMULATE_BUILD_FAILURE=1) it says so for each addon and leaves no half-built addon
 * to be found at run time. The script runs on a copy of the repository's native sources, so the
 * addons this checkout uses are not touched. The loader without the addons is tested with
 * MEMC_LOAD_NO_NATIVE_ENCODE=1 and MEMC_LOAD_NO_ISAL=1 (encoder-choice, gunzip-choice tests).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-build-native-'));
after(() => rmSync(root, { recursive: true, force: true }));
const ADDONS = [
  ['isal-inflate', 'isal_inflate.c'],
  ['fast-encode', 'fast_encode.c'],
] as const;

/** A copy of the script and the addons' sources (no build folders). */
function copy(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  cpSync(join(repoRoot(), 'scripts/build-native.mjs'), join(dir, 'scripts/build-native.mjs'));
  for (const [addon, source] of ADDONS) {
    mkdirSync(join(dir, 'native', addon), { recursive: true });
    for (const f of ['binding.gyp', source]) cpSync(join(repoRoot(), 'native', addon, f), join(dir, 'native', addon, f));
  }
  return dir;
}

function build(dir: string, env: NodeJS.ProcessEnv): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(dir, 'scripts/build-native.mjs')], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('MEMC_LOAD_SKIP_NATIVE=1: nothing is built, both addons say so, the install goes on', () => {
  const dir = copy('skip');
  const r = build(dir, { MEMC_LOAD_SKIP_NATIVE: '1' });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /MEMC_LOAD_SKIP_NATIVE=1: the native ISA-L inflater is not built; memc-load will inflate with zlib/);
  assert.match(r.out, /MEMC_LOAD_SKIP_NATIVE=1: the native line encoder is not built; memc-load will encode lines in JS/);
  for (const [addon] of ADDONS) assert.equal(existsSync(join(dir, 'native', addon, 'build')), false, addon);
});

test('a failing compiler: each addon says its build failed, none is left half-built, the install goes on', () => {
  const dir = copy('fail');
  const r = build(dir, { MEMC_LOAD_SIMULATE_BUILD_FAILURE: '1', MEMC_LOAD_SKIP_NATIVE: '' });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /building the native line encoder failed .*; memc-load will encode lines in JS/);
  assert.match(r.out, /build failure simulated/);
  assert.equal(existsSync(join(dir, 'native', 'fast-encode', 'build')), false);
  // Without libisal-dev the inflater is skipped before its compiler runs; either way nothing is left.
  assert.match(r.out, /building the native ISA-L inflater failed|libisal-dev is not installed|node-gyp \(npm's\) was not found/);
  assert.equal(existsSync(join(dir, 'native', 'isal-inflate', 'build')), false);
});
