import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The built src/ beside this built test (dist/test/unit/cli -> dist/src).
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');

/** Our modules a module loads before its first line runs: its static imports, followed. */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // `import type` is erased by tsc, so every import left in the built file is a real load.
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*'(\.[^']+)'|^\s*import\s*'(\.[^']+)'/gm)) {
      walk(resolve(dirname(file), (m[1] ?? m[2]) as string));
    }
  };
  walk(resolve(SRC, entry));
  return [...seen].map((f) => relative(SRC, f)).sort();
}

test('the CLI entry loads neither the pipeline nor the queue before it knows the command', () => {
  const graph = staticGraph('cli/main.js');
  assert.ok(graph.includes('cli/args.js'), 'the walk follows imports');
  assert.deepEqual(graph.filter((m) => /^(pipeline|queue|cluster|memcached|generate)\/|^record\/parse-line/.test(m)), []);
});

test('enqueue and status load no pipeline, connection or encoder: the worker alone does', () => {
  const cluster = staticGraph('cli/cluster.js');
  assert.ok(cluster.includes('queue/enqueue.js'));
  assert.deepEqual(cluster.filter((m) => /^(pipeline|cluster|memcached|record|pool)\//.test(m)), []);
  const worker = staticGraph('cli/cluster-worker.js');
  assert.ok(worker.includes('cluster/split.js') && worker.includes('cluster/apply.js'));
});

test('the flags and --help need no pipeline (the watch defaults live in config/)', () => {
  for (const entry of ['cli/args.js', 'cli/cluster-args.js', 'cli/flags.js']) {
    assert.deepEqual(staticGraph(entry).filter((m) => !/^(cli|config)\/|^errors\.js$/.test(m)), [], entry);
  }
});
