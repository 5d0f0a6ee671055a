#!/usr/bin/env node
// `npm run build`, second step: the CLI as an esbuild bundle in dist/bundle/, which
// bin/memc-load.js runs. Why: every process pays Node's ESM loader for each module it loads
// (resolve, read, compile, link): a one-line load from tsc's output loads 94 modules of ours,
// from the bundle 26 files. Node 20 has no compile cache to hide that (issue #19; figures in
// docs/benchmarks.md's optimisation log). tsc's dist/src/ stays: the library export
// (package.json "main"), the tests and the benches import it.
//
// What the bundle keeps, and the checks below hold it to:
// - Code splitting: main.ts's dynamic imports stay dynamic chunks, so a load never loads
//   bullmq or `generate`, and `enqueue` never loads the pipeline (test/unit/build/bundle.test.ts
//   reads dist/bundle-meta.json for that).
// - src/pipeline/worker.ts is an entry of its own, dist/bundle/worker.js: encoders.ts starts
//   threads on new URL('./worker.js', import.meta.url), which from a chunk of the bundle means
//   this folder. Every such URL in the output is checked to name a file that exists.
// - Packages stay outside (imported from node_modules at run time): bullmq and ioredis are
//   CommonJS loaded by require() (src/queue/cjs.ts), prom-client and protobufjs load only with
//   --metrics-port or the self-test, and CommonJS bundled into ESM runs behind a require shim.
//   tinyglobby and fdir (ESM, on every load's path) are bundled; picomatch (CommonJS) is not:
//   fdir require()s it from node_modules at load anyway, so a bundled copy would load twice
//   (a 1-line run's CPU against picomatch bundled, median ratio of 8 alternated pairs on Node 20:
//   picomatch outside 0.95, every package outside 1.01).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies).filter((name) => name !== 'tinyglobby'), 'picomatch'];

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', worker: 'src/pipeline/worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
});

const problems = [];
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))) {
  const text = readFileSync(join(root, file), 'utf8');
  for (const m of text.matchAll(/new URL\(\s*["'`]([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)) {
    const target = join(root, dirname(file), m[1]);
    if (!existsSync(target)) problems.push(`${file}: new URL('${m[1]}', import.meta.url) names ${relative(root, target)}, which is not there`);
  }
}
if (problems.length > 0) {
  process.stderr.write(`bundle: a file located from the bundle is missing:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
writeFileSync(join(root, 'dist', 'bundle-meta.json'), JSON.stringify(result.metafile));
