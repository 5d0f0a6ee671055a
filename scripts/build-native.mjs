// Builds the optional native inflater (native/isal-inflate, an N-API addon over ISA-L) at
// `npm ci` / `npm install`. Plain Node, no dependencies. It NEVER fails the install: where
// libisal-dev, Node's headers or node-gyp are missing, or the build fails, it says so and the
// loader inflates with zlib (src/logfile/isal-gunzip.ts decides at run time, after a start-up
// check). Nothing is downloaded: node-gyp gets a local --nodedir, or the build is skipped.
//   MEMC_LOAD_SKIP_NATIVE=1              build nothing
//   MEMC_LOAD_SIMULATE_BUILD_FAILURE=1   make the compiler fail (to try the zlib-only path)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'native', 'isal-inflate');
const say = (msg) => console.log(`memc-load: ${msg}`);
const ZLIB = 'memc-load will inflate with zlib (same data, more CPU)';

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

function build() {
  if (process.env.MEMC_LOAD_SKIP_NATIVE === '1') return say(`MEMC_LOAD_SKIP_NATIVE=1: the native ISA-L inflater is not built; ${ZLIB}`);
  if (!['/usr/include', '/usr/local/include'].some((d) => existsSync(join(d, 'isa-l', 'igzip_lib.h')))) {
    return say(`libisal-dev is not installed, so the native ISA-L inflater is not built; ${ZLIB} (apt-get install libisal-dev, then npm rebuild memc-load or npm ci, for half the inflate CPU)`);
  }
  const gyp = nodeGyp();
  const dir = nodeDir();
  if (gyp === undefined) return say(`node-gyp (npm's) was not found: the native ISA-L inflater is not built; ${ZLIB}`);
  if (dir === undefined) return say(`Node's headers (include/node/node_api.h) were not found: the native ISA-L inflater is not built; ${ZLIB}`);
  const env = { ...process.env };
  if (process.env.MEMC_LOAD_SIMULATE_BUILD_FAILURE === '1') env.CFLAGS = `${env.CFLAGS ?? ''} -DMEMC_LOAD_SIMULATE_BUILD_FAILURE`;
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${dir}`, '--loglevel=error'], { cwd: addon, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0) return say('built the native ISA-L inflater (native/isal-inflate)');
  // No half-built addon is left to be found at run time.
  rmSync(join(addon, 'build'), { recursive: true, force: true });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').filter((l) => !l.startsWith('gyp ')).slice(-8).join('\n');
  say(`building the native ISA-L inflater failed (${r.error?.message ?? `exit ${r.status}`}); ${ZLIB}\n${out}`);
}

try {
  build();
} catch (err) {
  say(`the native ISA-L inflater was not built (${err.message}); ${ZLIB}`);
}
