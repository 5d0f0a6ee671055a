// Builds the optional native addons at `npm ci` / `npm install`. Plain Node, no dependencies. It
// NEVER fails the install: where a library, Node's headers or node-gyp are missing, or a build
// fails, it says so and the loader does that work in JS (each addon's module decides at run time,
// after a start-up check). Nothing is downloaded: node-gyp gets a local --nodedir, or the build
// is skipped.
//   native/isal-inflate  ISA-L inflater (src/logfile/isal-gunzip.ts); needs libisal-dev
//   native/fast-encode   the encoder's fast path in C (src/pipeline/native-encode.ts); needs no
//                        library, so it is a separate addon: a machine without libisal-dev
//                        still gets it
//   MEMC_LOAD_SKIP_NATIVE=1              build nothing
//   MEMC_LOAD_SIMULATE_BUILD_FAILURE=1   make the compiler fail (to try the JS-only path)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`memc-load: ${msg}`);

const ADDONS = [
  {
    dir: 'isal-inflate',
    what: 'the native ISA-L inflater',
    instead: 'memc-load will inflate with zlib (same data, more CPU)',
    missing: () =>
      ['/usr/include', '/usr/local/include'].some((d) => existsSync(join(d, 'isa-l', 'igzip_lib.h')))
        ? null
        : 'libisal-dev is not installed (apt-get install libisal-dev, then npm rebuild memc-load or npm ci, for half the inflate CPU)',
  },
  {
    dir: 'fast-encode',
    what: 'the native line encoder',
    instead: 'memc-load will encode lines in JS (same bytes, more CPU)',
    missing: () => null,
  },
];

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    // npm's own copy, next to the node binary that runs this (Debian's and the official layouts).
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** A folder with include/node/node_api.h for this Node (N-API is ABI-stable: any recent one does). */
function nodeDir() {
  const candidates = [join(dirname(process.execPath), '..'), '/usr', '/usr/local'];
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
}

function build(addon) {
  const { what, instead } = addon;
  if (process.env.MEMC_LOAD_SKIP_NATIVE === '1') return say(`MEMC_LOAD_SKIP_NATIVE=1: ${what} is not built; ${instead}`);
  const missing = addon.missing();
  if (missing !== null) return say(`${missing}, so ${what} is not built; ${instead}`);
  const gyp = nodeGyp();
  const dir = nodeDir();
  if (gyp === undefined) return say(`node-gyp (npm's) was not found: ${what} is not built; ${instead}`);
  if (dir === undefined) return say(`Node's headers (include/node/node_api.h) were not found: ${what} is not built; ${instead}`);
  const env = { ...process.env };
  if (process.env.MEMC_LOAD_SIMULATE_BUILD_FAILURE === '1') env.CFLAGS = `${env.CFLAGS ?? ''} -DMEMC_LOAD_SIMULATE_BUILD_FAILURE`;
  const cwd = join(root, 'native', addon.dir);
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${dir}`, '--loglevel=error'], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0) return say(`built ${what} (native/${addon.dir})`);
  // No half-built addon is left to be found at run time.
  rmSync(join(cwd, 'build'), { recursive: true, force: true });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').filter((l) => !l.startsWith('gyp ')).slice(-8).join('\n');
  say(`building ${what} failed (${r.error?.message ?? `exit ${r.status}`}); ${instead}\n${out}`);
}

for (const addon of ADDONS) {
  try {
    build(addon);
  } catch (err) {
    say(`${addon.what} was not built (${err.message}); ${addon.instead}`);
  }
}
