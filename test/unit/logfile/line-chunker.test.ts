import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineChunker, type ChunkItem } from '../../../src/logfile/line-chunker.js';

const enc = (s: string) => Buffer.from(s, 'latin1');

/** Feeds pieces, then renders what came out: data chunks as text, too_long as a marker line. */
function run(pieces: string[], target: number, maxLine: number): { items: ChunkItem[]; text: string[] } {
  const c = new LineChunker(target, maxLine);
  const items: ChunkItem[] = [];
  for (const p of pieces) items.push(...c.push(enc(p)));
  items.push(...c.end());
  return { items, text: items.map((i) => (i.kind === 'data' ? Buffer.from(i.buf).toString('latin1') : i.blank ? '<blank_long>' : '<too_long>')) };
}

test('chunks end at a newline and hold at least the target', () => {
  const { text } = run(['aaa\nbb', 'b\ncc', 'c\nddd\n'], 5, 100);
  assert.deepEqual(text, ['aaa\nbbb\n', 'ccc\nddd\n']);
});

test('a last line without its newline is still delivered', () => {
  assert.deepEqual(run(['x\ny'], 100, 100).text, ['x\ny']);
});

test('an over-long line is dropped as it streams and reported once, in its place', () => {
  const { text } = run(['ok\n', 'A'.repeat(8), 'A'.repeat(8), 'A\nnext\n'], 1000, 10);
  assert.deepEqual(text, ['ok\n', '<too_long>', 'next\n']);
});

test('an over-long last line without newline is reported and nothing follows', () => {
  assert.deepEqual(run(['ok\n' + 'B'.repeat(20)], 1000, 10).text, ['ok\n', '<too_long>']);
});

test('an over-long line of only whitespace counts as blank, as the parser would say', () => {
  assert.deepEqual(run(['a\n', ' '.repeat(8), '\t'.repeat(8), ' \r\nb\n'], 1000, 10).text, ['a\n', '<blank_long>', 'b\n']);
  assert.deepEqual(run(['a\n', ' '.repeat(8), ' x ', '\nb\n'], 1000, 10).text, ['a\n', '<too_long>', 'b\n']);
  assert.deepEqual(run(['a\n' + ' '.repeat(20)], 1000, 10).text, ['a\n', '<blank_long>']);
});

test('a line of exactly maxLineBytes is not dropped by the chunker', () => {
  assert.deepEqual(run(['C'.repeat(10), '\n'], 1000, 10).text, ['C'.repeat(10) + '\n']);
});

test('every chunk owns its ArrayBuffer, so it can be transferred to a worker', () => {
  const { items } = run(['a\nb\n', 'c\n'], 1, 100);
  for (const i of items) {
    assert.equal(i.kind, 'data');
    if (i.kind === 'data') {
      assert.equal(i.buf.byteOffset, 0);
      assert.equal(i.buf.buffer.byteLength, i.buf.length);
    }
  }
});

test('property: the concatenated output equals the input, whatever the piece boundaries', () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[ab\n]{0,30}$/), { maxLength: 20 }),
      fc.integer({ min: 1, max: 64 }),
      (pieces, target) => {
        const { text } = run(pieces, target, 1 << 20);
        assert.equal(text.join(''), pieces.join(''));
        for (const t of text.slice(0, -1)) assert.ok(t.endsWith('\n'), 'only the last chunk may lack a newline');
      },
    ),
  );
});

test('a piece holding several targets is cut into chunks of about the target', () => {
  assert.deepEqual(run(['aa\nbb\ncc\ndd\nee'], 4, 100).text, ['aa\nbb\n', 'cc\ndd\n', 'ee']);
  // The line that crosses the target ends its chunk, however long it is.
  assert.deepEqual(run(['a\nbbbbbbbb\nc\n'], 3, 100).text, ['a\nbbbbbbbb\n', 'c\n']);
});

test('property: borrowed pieces (overwritten after each push, as the inline inflater does) give the same chunks and drops as owned ones', () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[ab \n]{0,40}$/), { maxLength: 20 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 4, max: 50 }),
      (pieces, target, maxLine) => {
        const c = new LineChunker(target, maxLine);
        // One buffer for every piece, scribbled over after each push: a view kept of it would show.
        const shared = Buffer.alloc(64);
        const items: ChunkItem[] = [];
        for (const p of pieces) {
          const piece = shared.subarray(0, shared.write(p, 'latin1'));
          items.push(...c.push(piece, true));
          shared.fill(0x58);
        }
        items.push(...c.end());
        const text = items.map((i) => (i.kind === 'data' ? Buffer.from(i.buf).toString('latin1') : i.blank ? '<blank_long>' : '<too_long>'));
        assert.deepEqual(text, run(pieces, target, maxLine).text);
      },
    ),
  );
});

test('borrowed pieces: the bytes kept across pushes survive several rounds of the carry buffers', () => {
  const c = new LineChunker(8, 100);
  const shared = Buffer.alloc(16);
  const items: ChunkItem[] = [];
  // Each piece leaves a partial line behind, so every push carries bytes over: the two carry
  // buffers take turns, and a wrong turn would copy a buffer onto itself or lose the older bytes.
  for (const p of ['aaaa', 'bbbb', 'cc\nd', 'dddd', 'ee\nf', 'ff\n']) {
    items.push(...c.push(shared.subarray(0, shared.write(p, 'latin1')), true));
    shared.fill(0x58);
  }
  items.push(...c.end());
  assert.deepEqual(
    items.map((i) => (i.kind === 'data' ? Buffer.from(i.buf).toString('latin1') : '?')),
    ['aaaabbbbcc\n', 'dddddee\n', 'fff\n'],
  );
});

test('property: lent chunks (views, read before the next push) give the same chunks and drops, with borrowed and owned pieces', () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[ab \n]{0,40}$/), { maxLength: 20 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 4, max: 50 }),
      fc.boolean(),
      (pieces, target, maxLine, borrowed) => {
        const c = new LineChunker(target, maxLine, undefined, true);
        const shared = Buffer.alloc(64);
        const text: string[] = [];
        let lent = 0;
        // What a consumer of lent chunks may do: use each before the next push, no later.
        const read = (items: ChunkItem[]) => {
          for (const i of items) {
            if (i.kind === 'data' && i.lent === true) lent++;
            text.push(i.kind === 'data' ? Buffer.from(i.buf).toString('latin1') : i.blank ? '<blank_long>' : '<too_long>');
          }
        };
        for (const p of pieces) {
          read(c.push(borrowed ? shared.subarray(0, shared.write(p, 'latin1')) : enc(p), borrowed));
          if (borrowed) shared.fill(0x58);
        }
        read(c.end());
        assert.deepEqual(text, run(pieces, target, maxLine).text);
        // A piece after a newline whose first two lines each reach the target: its second line is a chunk of its own, lent.
        const lendable = pieces.some((p, k) => {
          const [a, b] = p.split('\n');
          return k > 0 && pieces[k - 1]?.endsWith('\n') === true && p.split('\n').length > 2 && (a as string).length + 1 >= target && (b as string).length + 1 >= target;
        });
        if (lendable && !text.some((t) => t.startsWith('<'))) assert.ok(lent > 0, 'no chunk was lent');
      },
    ),
  );
});

test('lent chunks are views of the piece, not copies; copies only where a chunk straddles two pieces', () => {
  const c = new LineChunker(4, 100, undefined, true);
  const piece = enc('aaaa\nbbbb\ncc');
  const items = c.push(piece, true);
  assert.deepEqual(items.map((i) => i.kind === 'data' && i.lent === true && i.buf.buffer === piece.buffer), [true, true]);
  const show = (items: ChunkItem[]) => items.map((i) => (i.kind === 'data' ? [Buffer.from(i.buf).toString('latin1'), i.lent === true] : null));
  // 'cc' was carried over: the chunk that completes it straddles the carry and the next piece.
  assert.deepEqual(show(c.push(enc('c\nddd'), true)), [['ccc\n', false]]);
  assert.deepEqual(show(c.push(enc('d\neeee\n'), true)), [['dddd\n', false], ['eeee\n', true]]);
});

test('every chunk is a Buffer, lent from a piece or from the carry, or copied (the encoder takes one kind)', () => {
  const c = new LineChunker(4, 100, undefined, true);
  const items = [...c.push(enc('aaaa\nbb'), true), ...c.push(enc('bb\ncc\n'), true), ...c.push(enc('d\n'), true), ...c.end()];
  const data = items.flatMap((i) => (i.kind === 'data' ? [i] : []));
  assert.deepEqual(
    data.map((i) => [Buffer.from(i.buf).toString('latin1'), i.lent === true]),
    [['aaaa\n', true], ['bbbb\n', false], ['cc\nd\n', false]],
  );
  const carried = new LineChunker(100, 100, undefined, true);
  const ends = [...carried.push(enc('ee\nff\n'), true), ...carried.end()];
  assert.deepEqual(ends.map((i) => (i.kind === 'data' ? [Buffer.from(i.buf).toString('latin1'), i.lent === true] : null)), [['ee\nff\n', true]]);
  for (const i of [...data, ...ends]) assert.ok(i.kind === 'data' && Buffer.isBuffer(i.buf), 'a plain Uint8Array chunk');
});
