import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../helpers/paths.js';

// What bin/memc-load.js runs is scripts/bundle.mjs's output, not tsc's: these read esbuild's
// metafile of it (dist/bundle-meta.json) to hold the bundle to the lazy loading that
// test/unit/cli/lazy-imports.test.ts holds the modules to.

interface Output {
  readonly entryPoint?: string;
  readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
  readonly inputs: Readonly<Record<string, unknown>>;
}

const ROOT = repoRoot();
const META = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle-meta.json'), 'utf8')) as { outputs: Record<string, Output> };

function outputOf(entry: string): string {
  const found = Object.entries(META.outputs).find(([, o]) => o.entryPoint === entry);
  assert.ok(found, `the bundle has an output for ${entry}`);
  return found[0];
}

/** What loads with these entries before their first line: the sources in them, and the packages they import. */
function loaded(...entries: string[]): { sources: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of (META.outputs[file] as Output).imports) {
      if (i.kind !== 'import-statement') continue;
      if (i.external) packages.add(i.path);
      else walk(i.path);
    }
  };
  for (const e of entries) walk(outputOf(e));
  const sources = [...seen].flatMap((f) => Object.keys((META.outputs[f] as Output).inputs)).map((s) => s.replace(/^src\//, ''));
  return { sources: sources.sort(), packages: [...packages].sort() };
}

test('the bundle loads neither the pipeline nor the queue before main knows the command', () => {
  const { sources, packages } = loaded('src/cli/main.ts');
  assert.ok(sources.includes('cli/args.ts'), 'the walk finds main.ts\'s imports');
  assert.deepEqual(sources.filter((m) => /^(pipeline|queue|cluster|memcached|generate)\/|^record\/parse-line/.test(m)), []);
  assert.deepEqual(packages.filter((p) => /^(bullmq|ioredis|prom-client|protobufjs)$/.test(p)), []);
});

test('a load through the bundle never loads bullmq or ioredis, and enqueue never loads the pipeline', () => {
  const run = loaded('src/cli/main.ts', 'src/pipeline/loader.ts', 'src/pipeline/run-lock.ts', 'src/pipeline/watch.ts');
  assert.ok(run.sources.includes('pipeline/loader.ts'));
  assert.deepEqual(run.sources.filter((m) => m.startsWith('queue/')), []);
  assert.deepEqual(run.packages.filter((p) => /^(bullmq|ioredis)$/.test(p)), []);
  const enqueue = loaded('src/cli/main.ts', 'src/cli/cluster.ts');
  assert.ok(enqueue.sources.includes('queue/enqueue.ts') && enqueue.sources.includes('queue/cjs.ts'));
  assert.deepEqual(enqueue.sources.filter((m) => /^(pipeline|cluster|memcached)\/|^record\/parse-line/.test(m)), []);
});

test('the packages stay outside the bundle but tinyglobby and fdir; one copy of each of our modules', () => {
  const inputs = Object.values(META.outputs).flatMap((o) => Object.keys(o.inputs));
  assert.deepEqual(inputs.filter((i) => /node_modules\/(bullmq|ioredis|prom-client|protobufjs|picomatch)\//.test(i)), []);
  assert.ok(inputs.some((i) => i.startsWith('node_modules/tinyglobby/')), 'tinyglobby is in the bundle');
  const ours = inputs.filter((i) => i.startsWith('src/'));
  assert.deepEqual(ours.filter((i, n) => ours.indexOf(i) !== n), [], 'a module in two outputs would be two modules (two MemcLoadError classes)');
});

test('every file the bundle locates by import.meta.url is there: the worker threads\' entry, the package\'s own files', () => {
  const dir = join(ROOT, 'dist', 'bundle');
  const urls: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/new URL\(\s*["'`]([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)) {
      urls.push(m[1] as string);
      assert.ok(existsSync(join(dir, m[1] as string)), `${file}: new URL('${m[1]}', import.meta.url) names a file that is not there`);
    }
  }
  assert.ok(urls.includes('./worker.js'), 'the encoder pool starts its threads from the bundle');
  assert.ok(urls.includes('../../'), 'src/package-file.ts locates the package root from the bundle');
  assert.equal(outputOf('src/pipeline/worker.ts'), 'dist/bundle/worker.js');
});

test('src/ locates files by import.meta.url only where the bundle keeps the path (package-file.ts and the worker)', () => {
  // tsc's dist/src/cli/x.js is three folders below the root, a bundle chunk two: a path relative
  // to its own module in any other file would work in one build and not the other.
  const uses: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && readFileSync(p, 'utf8').includes('import.meta.url')) uses.push(relative(join(ROOT, 'src'), p));
    }
  };
  walk(join(ROOT, 'src'));
  // native-addon.ts and queue/cjs.ts only give createRequire a base: their paths are absolute or package names.
  assert.deepEqual(uses.sort(), ['native-addon.ts', 'package-file.ts', 'pipeline/encoders.ts', 'queue/cjs.ts']);
  assert.match(readFileSync(join(ROOT, 'src', 'native-addon.ts'), 'utf8'), /createRequire\(import\.meta\.url\)\(packagePath\(/);
  assert.equal(dirname(relative(ROOT, outputOf('src/cli/main.ts'))), 'dist/bundle', 'package-file.ts counts two folders up');
});
