import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { formatCoord, LINE_KINDS, makeLine, makeLines, Rng, type LineKind } from '../../../src/generate/index.js';
import { classify, countBy, DEV_TYPES, keyOf, splitLines, type Outcome } from './spec-rules.js';

const FIXTURES = new URL('../../../../test/fixtures/', import.meta.url);
const REAL_COORD = /^-?\d{1,3}\.\d+$/;

function assertValidShape(line: string): void {
  const f = line.split('\t');
  assert.equal(f.length, 5, line);
  assert.ok(DEV_TYPES.includes(f[0]), line);
  assert.match(f[1], /^[0-9a-f]{32}$/);
  for (const g of [f[2], f[3]]) {
    const x = Number(g);
    assert.ok(Number.isFinite(x) && x >= -180 && x <= 180, g);
    // Python 2 str(): at most 12 significant digits, no trailing zeros after the first decimal.
    assert.ok(REAL_COORD.test(g) || /e-\d\d$/.test(g), g);
    assert.ok(g.replace(/^-|\.|e.*$/g, '').replace(/^0+/, '').length <= 12, g);
    assert.ok(!/\.\d*[1-9]0+$/.test(g) && !/\.0\d*0$/.test(g), g);
  }
  const apps = f[4].split(',');
  assert.ok(apps.length >= 2 && apps.length <= 100, `${apps.length} apps`);
  for (const a of apps) assert.match(a, /^(0|[1-9]\d{0,3})$/);
  const ids = apps.map(Number);
  assert.ok(ids.every((id) => id <= 9998));
  assert.equal(new Set(ids).size, ids.length, 'app ids are distinct');
}

describe('makeLine', () => {
  it('writes valid lines of the real shape', () => {
    const rng = new Rng('shape');
    let bytes = 0;
    for (let i = 0; i < 3000; i++) {
      const line = makeLine(rng);
      assertValidShape(line);
      bytes += line.length + 1;
    }
    // SPEC.md "Real files": mean ~300 bytes a line; uniform 2–100 apps gives ~316.
    const mean = bytes / 3000;
    assert.ok(mean > 280 && mean < 340, `mean line ${mean}`);
  });

  it('makes every kind what it claims, by the SPEC rules, for any seed', () => {
    const kinds = LINE_KINDS.filter((k) => k !== 'too_long');
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), fc.constantFrom(...kinds), (seed, kind) => {
        const rng = new Rng(seed);
        for (let i = 0; i < 20; i++) assert.equal(classify(makeLine(rng, kind)), kind);
      }),
      { numRuns: 300 },
    );
  });

  it('makes too_long lines just over the given limit', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 50; i++) {
      const line = makeLine(rng, 'too_long', 5000);
      assert.ok(line.length > 5000 && line.length <= 5064, String(line.length));
      assert.equal(classify(line, 5000), 'too_long');
      // Apart from its length, it would be a good line.
      assert.equal(classify(line, 1 << 20), 'valid');
    }
    assert.throws(() => makeLine(new Rng(1), 'too_long'), RangeError);
  });

  it('is deterministic per seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const la = Array.from({ length: 50 }, () => makeLine(a, 'valid'));
    const lb = Array.from({ length: 50 }, () => makeLine(b, 'valid'));
    const lc = Array.from({ length: 50 }, () => makeLine(c, 'valid'));
    assert.deepEqual(la, lb);
    assert.notDeepEqual(la, lc);
    assert.notEqual(new Rng('42').u32(), new Rng(42).u32());
  });
});

describe('formatCoord', () => {
  it('formats every real coordinate of the fixtures exactly as the tracker wrote it', () => {
    let n = 0;
    for (const name of ['20170929000000.head100.tsv.gz', '20170929000200.head100.tsv.gz']) {
      const text = gunzipSync(readFileSync(new URL(name, FIXTURES))).toString('latin1');
      for (const line of splitLines(text)) {
        const [, , lat, lon] = line.split('\t');
        assert.equal(formatCoord(Number(lat)), lat);
        assert.equal(formatCoord(Number(lon)), lon);
        n += 2;
      }
    }
    assert.equal(n, 400);
  });

  it('follows Python 2 str(float) at the edges', () => {
    const cases: [number, string][] = [
      [180, '180.0'],
      [-180, '-180.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [0.5, '0.5'],
      [1.5e-5, '1.5e-05'],
      [-1.23456789012345e-7, '-1.23456789012e-07'],
      [0.0001, '0.0001'],
      [12.3456789012345, '12.3456789012'],
      [99.99999999999999, '100.0'],
      [1 / 3, '0.333333333333'],
    ];
    for (const [x, s] of cases) assert.equal(formatCoord(x), s, String(x));
  });

  it('keeps 12 significant digits of any coordinate', () => {
    fc.assert(
      fc.property(fc.double({ min: -180, max: 180, noNaN: true }), (x) => {
        const s = formatCoord(x);
        // === on purpose: -0 formats as '-0.0' while toPrecision drops the sign.
        assert.ok(Number(s) === Number(x.toPrecision(12)), `${x} → ${s}`);
        assert.match(s, /^-?(\d{1,3}\.\d+|\d\.?\d*e-\d\d\d?)$/);
      }),
      { numRuns: 2000, examples: [[-0], [0], [5e-324], [180], [-1e-5]] },
    );
  });
});

describe('makeLines', () => {
  const N = 20_000;
  const mix = { repeatRate: 0.25, badRate: 0.06, blankRate: 0.03, maxLineBytes: 4000 };
  const { buf, tally } = makeLines(new Rng('rates'), N, mix);
  const lines = splitLines(buf.toString('latin1'));
  const outcomes = lines.map((l) => classify(l, mix.maxLineBytes));
  const byOutcome = countBy<Outcome>(outcomes);
  const count = (o: Outcome): number => byOutcome.get(o) ?? 0;

  it('writes exactly the lines it counts, each as intended', () => {
    assert.equal(lines.length, N);
    assert.equal(tally.lines, N);
    assert.equal(tally.bytes, buf.length);
    assert.equal(count('valid'), tally.valid);
    assert.equal(count('warn'), tally.warnings);
    assert.equal(count('blank'), tally.blank);
    for (const [reason, n] of Object.entries(tally.rejected)) assert.equal(count(reason as Outcome), n, reason);
  });

  it('honours the rates', () => {
    // Tolerances are ~5 standard deviations of a binomial count: loose, but a wrong rate fails.
    const bad = N - count('valid') - count('blank');
    assert.ok(Math.abs(bad - N * mix.badRate) < 180, `bad ${bad}`);
    assert.ok(Math.abs(count('blank') - N * mix.blankRate) < 125, `blank ${count('blank')}`);
    // Malformed lines are spread evenly over the 7 kinds (too_long is on: maxLineBytes is set).
    for (const kind of ['too_long', 'fields', 'empty', 'type', 'key', 'geo', 'warn'] as const) {
      const n = count(kind);
      assert.ok(n > 100 && n < 250, `${kind}: ${n}`);
    }
    const loaded: string[] = [];
    lines.forEach((l, i) => {
      if (outcomes[i] === 'valid' || outcomes[i] === 'warn') loaded.push(keyOf(l));
    });
    const repeats = loaded.length - new Set(loaded).size;
    assert.equal(repeats, tally.repeated);
    assert.ok(Math.abs(repeats / loaded.length - mix.repeatRate) < 0.02, `repeat rate ${repeats / loaded.length}`);
  });

  it('has no malformed lines, blank lines or repeats when the rates are 0', () => {
    const plain = makeLines(new Rng(3), 3000);
    const ls = splitLines(plain.buf.toString('latin1'));
    for (const l of ls) assertValidShape(l);
    assert.equal(new Set(ls.map(keyOf)).size, 3000);
    assert.equal(plain.tally.distinctKeys, 3000);
  });

  it('leaves too_long out unless maxLineBytes is set', () => {
    const r = makeLines(new Rng(9), 5000, { badRate: 0.5 });
    assert.equal(r.tally.rejected.too_long, 0);
    assert.ok(Object.entries(r.tally.rejected).every(([k, n]) => k === 'too_long' || n > 250));
  });

  it('writes CRLF line endings, otherwise the same bytes', () => {
    const lf = makeLines(new Rng(5), 2000, { badRate: 0.1, blankRate: 0.05 }).buf.toString('latin1');
    const crlf = makeLines(new Rng(5), 2000, { badRate: 0.1, blankRate: 0.05, crlf: true }).buf.toString('latin1');
    assert.equal((crlf.match(/\r\n/g) ?? []).length, 2000);
    assert.equal((crlf.match(/\n/g) ?? []).length, 2000);
    assert.equal(crlf.replace(/\r\n/g, '\n'), lf);
  });

  it('draws every malformed kind, too_long included when maxLineBytes is set', () => {
    const kinds = new Set<LineKind>(outcomes.filter((o) => o !== 'valid') as LineKind[]);
    assert.deepEqual([...kinds].sort(), ['blank', 'empty', 'fields', 'geo', 'key', 'too_long', 'type', 'warn']);
  });
});
