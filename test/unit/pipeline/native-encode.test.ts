/**
 * The native line encoder (pipeline/native-encode.ts, native/fast-encode) against the JS fast
 * path (fast-line.ts) and the general path (record/parse-line.ts): on the real fixtures, on
 * generated clean lines, and on lines mutated every way a hostile file could (cut short, any
 * byte 0x00-0xff put in, replaced or taken out anywhere, long ids, long lines, many apps).
 * Two levels:
 * - a run: the addon's run() from a line start against the same loop in JS over
 *   encodeCleanLine, with the same room test; stop position, used, records, lines taken and
 *   the bytes written must be equal, with buffers of every room (a line it lacks room for
 *   stops both);
 * - a chunk: encodeChunk with --encoder native, js and the general path alone must give equal
 *   results (frames, records, rejects, samples).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import { metaSetFlags } from '../../../src/memcached/encode.js';
import type { EncodeSettings } from '../../../src/pipeline/chunk-types.js';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { FAST_MAX_LINE, FAST_OUT_ROOM, encodeCleanLine, fastResult, peekType } from '../../../src/pipeline/fast-line.js';
import { NATIVE_STATE_LENGTH, SAMPLE_FRAMES, jsSampleFrames, nativeEncodeSimd, nativeRun, sampleFails, sampleInput, type NativeRun, type NativeSimd } from '../../../src/pipeline/native-encode.js';
import { appIdInputs, rng } from '../../helpers/app-id-lines.js';
import { driveDigest, type DriveResult } from '../../helpers/native-drive.js';
import { encodeSettings, plainResult } from '../../helpers/encode.js';
import { nativeEncodeReady } from '../../helpers/native-encode.js';
import { repoRoot } from '../../helpers/paths.js';

const fixturesDir = join(repoRoot(), 'test/fixtures');

const ready = nativeEncodeReady();
const LF = 0x0a;

/** What the addon's run() does, in JS over encodeCleanLine (the reference it must equal). */
function jsRun(input: Buffer, start: number, lastLf: number, maxLine: number, flags: Uint8Array, outs: Uint8Array[], state: Int32Array): number {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let lines = 0;
  while (start + 4 < lastLf) {
    const type = peekType(input, start);
    if (type < 0) break;
    const out = outs[type];
    const used = state[type];
    if (out.length - used < FAST_OUT_ROOM + flags.length) break;
    const next = encodeCleanLine(input, inView, start, out, new DataView(out.buffer, out.byteOffset, out.byteLength), used, flags, Math.min(maxLine, FAST_MAX_LINE));
    if (next < 0) break;
    state[type] = fastResult.end;
    state[4 + type]++;
    lines++;
    start = next;
  }
  state[8] = lines;
  return start;
}

interface RunCase {
  readonly maxLine: number;
  readonly ttl: number;
  /** Per type: the buffer's size and the bytes already used in it. */
  readonly sizes: readonly number[];
  readonly used: readonly number[];
}

/** Native and JS runs from `start`: equal stop, counts and bytes. */
function sameRun(run: NativeRun, input: Buffer, start: number, c: RunCase): number {
  const lastLf = input.lastIndexOf(LF);
  const flags = metaSetFlags(c.ttl);
  const make = () => c.sizes.map((n, t) => {
    const b = new Uint8Array(n);
    for (let k = 0; k < c.used[t]; k++) b[k] = (k * 7 + t) & 0xff;
    return b;
  });
  const jsOuts = make();
  const nOuts = make();
  const jsState = new Int32Array(NATIVE_STATE_LENGTH);
  const nState = new Int32Array(NATIVE_STATE_LENGTH);
  for (let t = 0; t < 4; t++) jsState[t] = nState[t] = c.used[t];
  const want = jsRun(input, start, lastLf, c.maxLine, flags, jsOuts, jsState);
  const got = lastLf < 0 ? start : run(input, start, lastLf, c.maxLine, flags, nOuts[0], nOuts[1], nOuts[2], nOuts[3], nState);
  const where = `from ${start} of ${JSON.stringify(input.toString('latin1').slice(start, start + 120))}`;
  assert.equal(got, want, `stop position ${where}`);
  if (lastLf >= 0) assert.deepEqual([...nState], [...jsState], `used, records, lines ${where}`);
  for (let t = 0; t < 4; t++) assert.ok(Buffer.from(nOuts[t].subarray(0, nState[t])).equals(jsOuts[t].subarray(0, jsState[t])), `bytes of type ${t} ${where}`);
  return jsState[8];
}

/** Every line start of the input. */
function lineStarts(input: Buffer): number[] {
  const starts = [0];
  for (let i = input.indexOf(LF); i >= 0 && i + 1 < input.length; i = input.indexOf(LF, i + 1)) starts.push(i + 1);
  return starts;
}

/** encodeChunk three ways: the general path alone, the JS fast path, the native one. */
function threePaths(chunk: Buffer, s: EncodeSettings): void {
  const general = plainResult(encodeChunk(chunk, s, false));
  assert.deepEqual(plainResult(encodeChunk(chunk, { ...s, encoder: 'js' })), general, 'js fast path');
  assert.deepEqual(plainResult(encodeChunk(chunk, { ...s, encoder: 'native' })), general, 'native encoder');
}

const BIG = 4 * FAST_OUT_ROOM;
const roomy = (maxLine = FAST_MAX_LINE, ttl = 0): RunCase => ({ maxLine, ttl, sizes: [BIG, BIG, BIG, BIG], used: [0, 0, 0, 0] });

function fixtureText(): string {
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.tsv.gz'))
    .sort()
    .map((f) => gunzipSync(readFileSync(join(fixturesDir, f))).toString('latin1'))
    .join('');
}

function cleanLine(r: () => number): string {
  const type = DEVICE_TYPES[Math.floor(r() * 4)];
  const idLen = r() < 0.9 ? 32 : 1 + Math.floor(r() * 245);
  let id = '';
  for (let i = 0; i < idLen; i++) id += String.fromCharCode(0x21 + Math.floor(r() * 0xde)).replace('\u007f', 'x');
  const geo = () => (r() < 0.5 ? (r() * 360 - 180).toFixed(Math.floor(r() * 12)) : String(r() * 360 - 180));
  const n = r() < 0.05 ? Math.floor(r() * 4000) : Math.floor(r() * 100);
  const apps = Array.from({ length: n }, () => String(Math.floor(r() < 0.2 ? r() * 1e9 : r() * 20000)));
  return `${type}\t${id}\t${geo()}\t${geo()}\t${apps.join(',')}`;
}

/** One hostile change to `text`: a byte put in, replaced or taken out, a cut, a long id or a long line. */
function mutate(text: string, r: () => number): string {
  const at = Math.floor(r() * (text.length + 1));
  const byte = String.fromCharCode(r() < 0.5 ? Math.floor(r() * 256) : [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2c, 0x2d, 0x2e, 0x7f, 0xff, 0x30, 0x39][Math.floor(r() * 12)] as number);
  switch (Math.floor(r() * 7)) {
    case 0:
      return text.slice(0, at) + byte + text.slice(at);
    case 1:
      return text.slice(0, at) + byte + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + text.slice(at + 1);
    case 3:
      return text.slice(0, at);
    case 4:
      return `${text.slice(0, at)}${'k'.repeat(240 + Math.floor(r() * 20))}${text.slice(at)}`;
    case 5:
      return `${text.slice(0, at)}${'9'.repeat(Math.floor(r() * 40))}${text.slice(at)}`;
    default:
      return `${text.slice(0, at)}${Array.from({ length: 14000 + Math.floor(r() * 2000) }, (_, i) => String(i % 1000)).join(',')}${text.slice(at)}`;
  }
}

describe('native encoder: runs equal the JS fast path', { skip: ready.skip }, () => {
  it('is here (CI builds it)', () => assert.ok(ready.ok));

  it('the real fixtures: every line start, every line taken, the general path\'s bytes', () => {
    const run = nativeRun();
    const input = Buffer.from(fixtureText(), 'latin1');
    assert.equal(sameRun(run, input, 0, roomy()), 200, 'all 200 real lines are clean');
    for (const start of lineStarts(input)) sameRun(run, input, start, roomy(FAST_MAX_LINE, 3600));
    threePaths(input, encodeSettings());
    threePaths(input, encodeSettings({ ttl: 86400 }));
  });

  it('out buffers of every room: a line it has no room for stops it where JS grows', () => {
    const run = nativeRun();
    const input = Buffer.from(fixtureText(), 'latin1');
    const r = rng(7);
    for (let k = 0; k < 200; k++) {
      const sizes = [0, 1, 2, 3].map(() => Math.floor(r() * 3 * FAST_OUT_ROOM));
      const used = sizes.map((n) => Math.floor(r() * Math.min(n + 1, 4096)));
      sameRun(run, input, 0, { maxLine: FAST_MAX_LINE, ttl: k % 2 === 0 ? 0 : 60, sizes, used });
    }
  });

  it('generated clean lines', () => {
    const run = nativeRun();
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 40 }), fc.constantFrom(0, 60), (seed, n, ttl) => {
        const r = rng(seed);
        const input = Buffer.from(`${Array.from({ length: n }, () => cleanLine(r)).join('\n')}\n`, 'latin1');
        for (const start of lineStarts(input)) sameRun(run, input, start, roomy(FAST_MAX_LINE, ttl));
        threePaths(input, encodeSettings({ ttl }));
      }),
      { numRuns: 200 },
    );
  });

  it('mutated and hostile lines, with line limits from 64 bytes up', () => {
    const run = nativeRun();
    const base = fixtureText().split('\n').slice(0, 40);
    for (let seed = 0; seed < 1500; seed++) {
      const r = rng(seed);
      const lines = Array.from({ length: 1 + Math.floor(r() * 6) }, () => (r() < 0.5 ? (base[Math.floor(r() * base.length)] as string) : cleanLine(r)));
      let text = `${lines.join('\n')}${r() < 0.9 ? '\n' : ''}`;
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) text = mutate(text, r);
      const input = Buffer.from(text, 'latin1');
      const maxLine = [64, 200, 1024, FAST_MAX_LINE, 1024 * 1024][Math.floor(r() * 5)] as number;
      for (const start of lineStarts(input)) sameRun(run, input, start, roomy(maxLine));
      threePaths(input, encodeSettings({ maxLineBytes: maxLine }));
    }
  });

  it('many apps and long lines: at, under and over FAST_MAX_LINE', () => {
    const run = nativeRun();
    for (const n of [1, 2000, 10_000, 13_100, 13_108, 13_200, 20_000]) {
      const line = `dvid\tmany\t1.5\t-2\t${Array.from({ length: n }, (_, i) => String(i % 100_000)).join(',')}`;
      const input = Buffer.from(`${line}\nidfa\tnext\t1\t2\t3\n`, 'latin1');
      for (const maxLine of [line.length - 1, line.length, FAST_MAX_LINE]) {
        sameRun(run, input, 0, roomy(maxLine));
        threePaths(input, encodeSettings({ maxLineBytes: maxLine }));
      }
    }
  });
});

/**
 * Input and out buffers allocated to the byte (never a slice of Node's Buffer pool), so that a
 * build under a memory checker (docs/architecture.md, "The native encoder") sees any read or
 * write past them: lines cut right after the last clean one, out buffers with exactly the room
 * the run checks, ids at their limit, 9- and 10-digit app ids, and empty flags.
 */
describe('native encoder: hostile input at the very ends of its buffers', { skip: ready.skip }, () => {
  const exact = (bytes: Uint8Array): Buffer => {
    const own = new Uint8Array(new ArrayBuffer(bytes.length));
    own.set(bytes);
    return Buffer.from(own.buffer, 0, own.length);
  };
  const tails = ['', 'idfa', 'idfa\t', 'gaid\tx\t1\t2\t3', 'dvid\tx\t1\t2\t1234', 'adid\t' + 'k'.repeat(245), '1,2,3'];
  const lines = [
    `idfa\t${'k'.repeat(245)}\t1\t2\t3`,
    `gaid\t${'k'.repeat(246)}\t1\t2\t3`,
    'adid\tx\t1\t2\t123456789,1234567890',
    'dvid\tx\t1\t2\t999999999',
    'idfa\tx\t-0.000000000000001\t123456789012345\t',
    'gaid\tx\t1\t2\t1234',
    'adid\tx\t1\t2\t1234,',
    'dvid\tx\t1\t2\t0000000001',
  ];

  it('runs from every line start equal the JS fast path, with exactly the room checked', () => {
    const run = nativeRun();
    const r = rng(11);
    for (let k = 0; k < 400; k++) {
      const body = Array.from({ length: 1 + Math.floor(r() * 4) }, () => lines[Math.floor(r() * lines.length)] as string).join('\n');
      const input = exact(Buffer.from(`${body}\n${tails[k % tails.length] as string}`, 'latin1'));
      const lastLf = input.lastIndexOf(LF);
      const flags = [new Uint8Array(0), metaSetFlags(0), metaSetFlags(3600)][k % 3] as Uint8Array;
      const used = [0, 1, 2, 3].map(() => Math.floor(r() * 40));
      const sizes = used.map((u) => u + FAST_OUT_ROOM + flags.length + [0, 0, 1, -1][Math.floor(r() * 4)]!);
      for (const start of lineStarts(input)) {
        if (start > lastLf) break;
        const jsOuts = sizes.map((n) => new Uint8Array(n));
        const nOuts = sizes.map((n) => new Uint8Array(new ArrayBuffer(n)));
        const jsState = new Int32Array(NATIVE_STATE_LENGTH);
        const nState = new Int32Array(NATIVE_STATE_LENGTH);
        for (let t = 0; t < 4; t++) jsState[t] = nState[t] = used[t]!;
        const want = jsRun(input, start, lastLf, FAST_MAX_LINE, flags, jsOuts, jsState);
        const got = run(input, start, lastLf, FAST_MAX_LINE, exact(flags), nOuts[0]!, nOuts[1]!, nOuts[2]!, nOuts[3]!, nState);
        const where = `case ${k} from ${start}`;
        assert.equal(got, want, where);
        assert.deepEqual([...nState], [...jsState], where);
        for (let t = 0; t < 4; t++) assert.ok(Buffer.from(nOuts[t]!.subarray(0, nState[t])).equals(jsOuts[t]!.subarray(0, jsState[t])), `${where} type ${t}`);
      }
    }
  });
});

/**
 * The C side reads app ids and coordinates 8 bytes at a time while those bytes are before the
 * chunk's last newline, and a byte at a time after: every digit count (1..10, where 4 digits and
 * a comma have a path of their own) at every distance from the end, in buffers allocated to the
 * byte, so a memory checker sees any read past last_lf's buffer.
 */
describe('native encoder: ids and coordinates of every length at every distance from the end', { skip: ready.skip }, () => {
  const exact = (text: string): Buffer => {
    const own = new Uint8Array(new ArrayBuffer(text.length));
    own.set(Buffer.from(text, 'latin1'));
    return Buffer.from(own.buffer, 0, own.length);
  };
  const flags = metaSetFlags(0);
  const compare = (run: NativeRun, text: string): void => {
    const input = exact(text);
    const lastLf = input.lastIndexOf(LF);
    const sizes = [0, 1, 2, 3].map(() => FAST_OUT_ROOM + flags.length);
    const jsOuts = sizes.map((n) => new Uint8Array(n));
    const nOuts = sizes.map((n) => new Uint8Array(new ArrayBuffer(n)));
    const jsState = new Int32Array(NATIVE_STATE_LENGTH);
    const nState = new Int32Array(NATIVE_STATE_LENGTH);
    const want = jsRun(input, 0, lastLf, FAST_MAX_LINE, flags, jsOuts, jsState);
    const got = run(input, 0, lastLf, FAST_MAX_LINE, flags, nOuts[0]!, nOuts[1]!, nOuts[2]!, nOuts[3]!, nState);
    const where = JSON.stringify(text.slice(-60));
    assert.equal(got, want, where);
    assert.deepEqual([...nState], [...jsState], where);
    for (let t = 0; t < 4; t++) assert.ok(Buffer.from(nOuts[t]!.subarray(0, nState[t])).equals(jsOuts[t]!.subarray(0, jsState[t])), `${where} type ${t}`);
  };
  const ids = ['0', '7', '00', '99', '127', '128', '0012', '0127', '1234', '9999', '12345', '16383', '16384', '123456', '2097152', '12345678', '99999999', '123456789', '1234567890'];

  it('app ids of 1..10 digits, then a comma, a newline or a bad byte, at every offset before the end', () => {
    const run = nativeRun();
    let taken = 0;
    for (const id of ids) {
      for (let pad = 0; pad <= 12; pad++) {
        const before = Array.from({ length: pad }, (_, k) => String(k % 10)).join(',');
        const apps = before === '' ? id : `${before},${id}`;
        for (const after of ['', ',5', ',1234', ',', 'x', ',1234,']) {
          for (const tail of ['', 'i', 'idfa\tx\t1\t2\t1234']) {
            compare(run, `gaid\tx\t1\t2\t${apps}${after}\n${tail}`);
            if (after === '' || after === ',5' || after === ',1234') taken++;
          }
        }
      }
    }
    assert.ok(taken > 0);
  });

  it('coordinates of 1..16 digits, with and without a point or a sign, at every distance from the end', () => {
    const run = nativeRun();
    for (let n = 1; n <= 16; n++) {
      const digits = '1234567890123456'.slice(0, n);
      for (let dot = 0; dot <= n; dot++) {
        const c = dot === n ? digits : `${digits.slice(0, dot)}.${digits.slice(dot)}`;
        for (const coord of [c, `-${c}`]) {
          for (const rest of ['\t', '\t1', '\t12345678', 'x\t1', '..\t1']) {
            compare(run, `adid\tx\t1\t${coord}${rest}\n`);
            compare(run, `adid\tx\t${coord}${rest}\t1\n`);
          }
        }
      }
    }
  });
});

describe('native encoder: what it refuses to be called with', { skip: ready.skip }, () => {
  const flags = metaSetFlags(0);
  const outs = () => [0, 1, 2, 3].map(() => new Uint8Array(BIG));
  const input = Buffer.from('idfa\tx\t1\t2\t3\ngaid\ty\t1\t2\t3\n', 'latin1');

  it('a lastLf that is not a newline of the input, or past it', () => {
    const run = nativeRun();
    const o = outs();
    for (const lastLf of [3, input.length, input.length + 100, -1]) {
      assert.throws(() => run(input, 0, lastLf, FAST_MAX_LINE, flags, o[0], o[1], o[2], o[3], new Int32Array(9)), RangeError, String(lastLf));
    }
  });

  it('a used count outside its buffer', () => {
    const run = nativeRun();
    const o = outs();
    for (const used of [-1, BIG + 1]) {
      const state = new Int32Array(9);
      state[2] = used;
      assert.throws(() => run(input, 0, input.length - 1, FAST_MAX_LINE, flags, o[0], o[1], o[2], o[3], state), RangeError);
    }
  });

  it('a records count at the top of int32: the line is left to JS, the count does not wrap', () => {
    const run = nativeRun();
    const o = outs();
    const state = new Int32Array(9);
    state[4] = 0x7fffffff;
    assert.equal(run(input, 0, input.length - 1, FAST_MAX_LINE, flags, o[0], o[1], o[2], o[3], state), 0);
    assert.deepEqual([...state], [0, 0, 0, 0, 0x7fffffff, 0, 0, 0, 0]);
    state[4] = 0x7ffffffe;
    assert.equal(run(input, 0, input.length - 1, FAST_MAX_LINE, flags, o[0], o[1], o[2], o[3], state), input.length);
    assert.equal(state[4], 0x7fffffff);
    assert.equal(state[5], 1);
  });

  it('arguments of the wrong kind', () => {
    const run = nativeRun() as unknown as (...args: unknown[]) => number;
    const o = outs();
    const good = [input, 0, input.length - 1, FAST_MAX_LINE, flags, o[0], o[1], o[2], o[3], new Int32Array(9)];
    assert.equal(run(...good), input.length);
    const bad: [number, unknown][] = [[0, 'text'], [4, [1]], [6, new Uint16Array(8)], [9, new Int32Array(8)], [9, new Uint32Array(9)], [1, 'zero']];
    for (const [at, value] of bad) assert.throws(() => run(...good.map((v, i) => (i === at ? value : v))), TypeError, `argument ${at}`);
    assert.throws(() => run(...good.slice(0, 9)), TypeError);
  });
});

/** This CPU's flags (x86-64 Linux; none elsewhere, where the addon has no vector path). */
function cpuFlags(): readonly string[] {
  if (process.arch !== 'x64') return [];
  return readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.split(/\s+/) ?? [];
}

/**
 * The app id path the addon must take on this CPU with `env` (fast_encode.c simd_mode): the best
 * the flags allow (AVX512-VBMI2: avx512; AVX2 and BMI2: avx2), MEMC_LOAD_SIMD=avx2 or none asking
 * for a lower one, MEMC_LOAD_NO_SIMD=1 for none.
 */
function expectedSimd(env: NodeJS.ProcessEnv): NativeSimd {
  const flags = cpuFlags();
  const has = (fs: readonly string[]) => fs.every((f) => flags.includes(f));
  const best: NativeSimd = has(['avx512f', 'avx512bw', 'avx512vbmi', 'avx512_vbmi2', 'bmi2', 'popcnt'])
    ? 'avx512'
    : has(['avx2', 'bmi1', 'bmi2', 'popcnt'])
      ? 'avx2'
      : 'none';
  if (env.MEMC_LOAD_NO_SIMD === '1' || env.MEMC_LOAD_SIMD === 'none') return 'none';
  if (env.MEMC_LOAD_SIMD === 'avx2') return best === 'avx512' ? 'avx2' : best;
  return best;
}

/** driveDigest in a child whose addon loads with `env` added (and MEMC_LOAD_SIMD / MEMC_LOAD_NO_SIMD as given, not inherited). */
function childDigest(env: Readonly<Record<string, string>>, args: readonly string[]): DriveResult {
  const drive = join(repoRoot(), 'dist/test/helpers/native-drive.js');
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.MEMC_LOAD_SIMD;
  delete childEnv.MEMC_LOAD_NO_SIMD;
  Object.assign(childEnv, env);
  const child = spawnSync(process.execPath, [drive, ...args], { env: childEnv, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout) as DriveResult;
  assert.equal(got.simd, expectedSimd(childEnv), `the child with ${JSON.stringify(env)} read app ids the way this CPU's flags call for`);
  return got;
}

/** The addon's run() as jsRun does it: the JS fast path's stops and bytes. */
const jsNativeRun: NativeRun = (input, start, lastLf, maxLine, flags, o0, o1, o2, o3, state) => jsRun(Buffer.from(input.buffer, input.byteOffset, input.byteLength), start, lastLf, maxLine, flags, [o0, o1, o2, o3], state);

/** Every path the addon has, by MEMC_LOAD_SIMD, and what it must report on a CPU that has them all. */
const PATHS = [
  { env: { MEMC_LOAD_SIMD: 'avx512' }, simd: 'avx512' },
  { env: { MEMC_LOAD_SIMD: 'avx2' }, simd: 'avx2' },
  { env: { MEMC_LOAD_SIMD: 'none' }, simd: 'none' },
] as const;

describe('native encoder: app ids 16 at a time (AVX-512), up to 8 at a time (AVX2) and one at a time', { skip: ready.skip }, () => {
  it('every id shape the vector paths hand back, at every distance from their blocks: the JS fast path\'s stops and bytes', () => {
    const run = nativeRun();
    let taken = 0;
    appIdInputs(0, 3000).forEach((input, k) => {
      const maxLine = [64, 100, 250, FAST_MAX_LINE][k % 4] as number;
      for (const start of lineStarts(input)) taken += sameRun(run, input, start, roomy(maxLine, k % 3 === 0 ? 60 : 0));
    });
    assert.ok(taken > 1500, `lines taken: ${taken}`);
  });

  it('the path this CPU should take: AVX-512 where it has AVX512-VBMI2, AVX2 where it has AVX2 and BMI2, as MEMC_LOAD_SIMD and MEMC_LOAD_NO_SIMD ask', () => {
    assert.equal(nativeEncodeSimd(), expectedSimd(process.env));
    // Each setting in a child (read when the addon loads); the child checks its path (childDigest).
    const envs: Record<string, string>[] = [{}, { MEMC_LOAD_SIMD: 'avx512' }, { MEMC_LOAD_SIMD: 'avx2' }, { MEMC_LOAD_SIMD: 'none' }, { MEMC_LOAD_SIMD: 'sse' }, { MEMC_LOAD_NO_SIMD: '1' }, { MEMC_LOAD_NO_SIMD: '1', MEMC_LOAD_SIMD: 'avx2' }];
    for (const env of envs) childDigest(env, ['1', '1']);
  });

  it('each path in a child (MEMC_LOAD_SIMD=avx512, avx2, none; MEMC_LOAD_NO_SIMD=1): the same stops and bytes as this process', () => {
    const here = driveDigest(5000, 1500);
    assert.ok(here.taken > 700, `lines taken: ${here.taken}`);
    const envs: Record<string, string>[] = [...PATHS.map((p) => p.env), { MEMC_LOAD_NO_SIMD: '1' }];
    for (const env of envs) {
      const child = childDigest(env, ['5000', '1500']);
      assert.deepEqual({ digest: child.digest, taken: child.taken }, { digest: here.digest, taken: here.taken }, `${JSON.stringify(env)} (${child.simd}) against this process (${here.simd})`);
    }
  });

  it('every id shape at every distance under each path (a child each): the JS fast path\'s digest of the same runs', () => {
    const want = driveDigest(0, 3000, [60, 0, 0], jsNativeRun);
    assert.ok(want.taken > 1500, `lines taken: ${want.taken}`);
    const flags = cpuFlags();
    for (const p of PATHS) {
      const child = childDigest(p.env, ['0', '3000', '60,0,0']);
      // On a CPU with every path (this machine: AVX512-VBMI2 and AVX2), each child really ran the one asked for.
      if (flags.includes('avx512_vbmi2')) assert.equal(child.simd, p.simd);
      assert.deepEqual({ digest: child.digest, taken: child.taken }, { digest: want.digest, taken: want.taken }, `app ids ${child.simd} against the JS fast path`);
    }
  });
});

describe("native encoder: the start-up check's reference", () => {
  it("SAMPLE_FRAMES are the JS fast path's bytes for the sample (change both together)", () => {
    const js = jsSampleFrames();
    assert.equal(js.taken, 5);
    assert.ok(js.stop > 0 && js.stop < sampleInput().length, 'stops at the declined line, before the end');
    assert.ok(js.types.every(([used]) => used > 0), 'every type has a line');
    assert.deepEqual(js, SAMPLE_FRAMES);
  });

  it('the check passes the addon, and fails it for one wrong byte or one line too few', { skip: ready.skip }, () => {
    const run = nativeRun();
    assert.equal(sampleFails(run), null);
    const flipped: NativeRun = (input, start, lastLf, maxLine, flags, o0, o1, o2, o3, state) => {
      const stop = run(input, start, lastLf, maxLine, flags, o0, o1, o2, o3, state);
      o1[(state[1] as number) - 7] ^= 1;
      return stop;
    };
    assert.equal(sampleFails(flipped), 'wrong bytes for type 1');
    const short: NativeRun = (input, start, lastLf, maxLine, flags, o0, o1, o2, o3, state) => {
      const stop = run(input, start, lastLf, maxLine, flags, o0, o1, o2, o3, state);
      (state[8] as number)--;
      return stop;
    };
    assert.match(sampleFails(short) ?? '', /after 4 lines, not at \d+ after 5/);
  });
});
