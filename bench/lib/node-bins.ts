/**
 * The node binaries NODES asks for (bench/lib/nodes.ts): a path is run as it is; a major or a
 * version is npm's `node-<os>-<cpu>` package (the official build, as a plain npm package),
 * installed on first use into bench/.cache/nodes/<major or version>/ (ignored, and not one of the
 * project's dependencies) and reused after: delete that folder for a newer release of a major.
 * A Node that cannot be had (no registry, a bad path) is skipped with the reason, so a machine
 * without the registry still benchmarks on its own Node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CACHE_DIR } from './dataset.js';
import { log } from './log.js';
import { isRunning, majorOf, specText, type NodeBin, type NodeSkipped, type NodeSpec, type NodesResult } from './nodes.js';

/** `node --version` of a binary, or an Error saying why it did not answer. */
function versionOf(bin: string): string {
  const v = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  if (!/^v\d+\.\d+\.\d+/.test(v)) throw new Error(`${bin} --version printed ${JSON.stringify(v.slice(0, 80))}`);
  return v;
}

/** npm's package of the official node binary for this machine. */
export function nodePackage(): string {
  return `node-${process.platform}-${process.arch}`;
}

/** Does `version` satisfy the spec (a cached install of `22` must still be a 22)? */
function fits(spec: NodeSpec, version: string): boolean {
  if (spec.kind === 'major') return majorOf(version) === spec.major;
  if (spec.kind === 'version') return version === `v${spec.version}`;
  return true;
}

/** One spec's binary: the path's, the cached install's, or a fresh `npm install`. */
function have(spec: NodeSpec): NodeBin {
  const text = specText(spec);
  if (spec.kind === 'path') {
    const path = resolve(spec.path);
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    return { spec: text, version: versionOf(path), path, source: 'path', pkg: null };
  }
  const pkg = nodePackage();
  const dir = join(CACHE_DIR, 'nodes', text);
  const bin = join(dir, 'node_modules', pkg, 'bin', 'node');
  const want = `${pkg}@${text}`;
  if (existsSync(bin)) {
    const version = versionOf(bin);
    if (fits(spec, version)) return { spec: text, version, path: bin, source: 'cache', pkg: `${pkg}@${version.slice(1)}` };
    log(`  ${bin} is ${version}, not ${text}: installing ${want} again`);
  }
  log(`Node ${text}: npm install ${want} into ${dir}`);
  // A package.json of its own, so npm cannot take the project above for the folder to install in.
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `bench-node-${text.replace(/\./g, '-')}`, private: true, description: 'a node binary for npm run bench (NODES); not a dependency' })}\n`);
  const r = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', want], {
    encoding: 'utf8',
    timeout: 600_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    // npm says what went wrong first (ETARGET, ENOTFOUND …), then where its log is.
    const tail = `${r.stderr ?? ''}`.trim().split('\n').filter(Boolean).slice(0, 2).join(' / ').slice(0, 300);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`npm install ${want} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})${tail ? `: ${tail}` : ''}`);
  }
  if (!existsSync(bin)) throw new Error(`npm install ${want} left no ${bin} (is there a ${pkg} build for this machine?)`);
  const version = versionOf(bin);
  if (!fits(spec, version)) throw new Error(`npm install ${want} gave ${version}`);
  return { spec: text, version, path: bin, source: 'npm', pkg: `${pkg}@${version.slice(1)}` };
}

/**
 * Every spec's binary, or why not; the running Node and a second binary of a version already
 * had are dropped (rows are named by version, and the main rows already run on the running one).
 */
export async function haveNodes(specs: readonly NodeSpec[], running = process.version): Promise<NodesResult> {
  const extra: NodeBin[] = [];
  const skipped: NodeSkipped[] = [];
  if (specs.length > 0) await mkdir(join(CACHE_DIR, 'nodes'), { recursive: true });
  const self = realpathSync(process.execPath);
  for (const spec of specs) {
    if (isRunning(spec, running)) continue;
    try {
      const got = have(spec);
      if (got.version === running || realpathSync(got.path) === self) {
        log(`Node ${got.spec}: ${got.version} is the harness's own Node; the main rows run on it`);
      } else if (extra.some((x) => x.version === got.version)) {
        log(`Node ${got.spec}: ${got.version} is already in NODES; run once`);
      } else {
        log(`Node ${got.spec}: ${got.version} at ${got.path} (${got.source === 'npm' ? `installed now from ${got.pkg}` : got.source === 'cache' ? `${got.pkg}, installed by an earlier run` : 'as given'})`);
        extra.push(got);
      }
    } catch (err) {
      const why = (err as Error).message;
      log(`Node ${specText(spec)}: not run: ${why}`);
      skipped.push({ spec: specText(spec), why });
    }
  }
  // Rows and the headline go up the versions, whatever order NODES gave them in.
  const key = (v: string): number[] => v.slice(1).split('.').map(Number);
  extra.sort((a, b) => {
    const [x, y] = [key(a.version), key(b.version)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  return { running, extra, skipped };
}
