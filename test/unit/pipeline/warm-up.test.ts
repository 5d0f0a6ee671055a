import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { NATIVE_LINES, warmUp, warmUpChunk } from '../../../src/pipeline/warm-up.js';
import { encodeSettings, plainResult } from '../../helpers/encode.js';
import { repoRoot } from '../../helpers/paths.js';

const fixture = gunzipSync(readFileSync(join(repoRoot(), 'test/fixtures/20170929000000.head100.tsv.gz')));

describe('encoder warm-up', () => {
  it('leaves no trace: a chunk encodes to the same result after it as before', () => {
    const settings = encodeSettings();
    const before = plainResult(encodeChunk(fixture, settings));
    warmUp(settings);
    warmUp({ ...settings, maxSamples: 0 }, true);
    assert.deepEqual(plainResult(encodeChunk(fixture, settings)), before);
  });

  it('takes the general path as well as the fast one: clean lines, each reject reason, dropped apps', () => {
    const chunk = warmUpChunk();
    // Its own ArrayBuffer, from offset 0, as a chunk reaching a worker is.
    assert.equal(chunk.byteOffset, 0);
    assert.equal(chunk.buffer.byteLength, chunk.length);
    const r = encodeChunk(chunk, encodeSettings());
    const fast = encodeChunk(chunk, encodeSettings(), true);
    const general = encodeChunk(chunk, encodeSettings(), false);
    assert.deepEqual(plainResult(fast), plainResult(general));
    assert.equal(r.lines, 3000);
    for (const reason of ['empty', 'key', 'type', 'geo', 'fields'] as const) assert.ok((r.rejected[reason] ?? 0) > 0, reason);
    assert.ok(r.appWarnings > 0);
    assert.ok(r.records.every((n) => n > 100), `records per type: ${r.records.join(', ')}`);
  });

  it("the native encoder's shorter chunk still has each reject reason and dropped apps", () => {
    const chunk = warmUpChunk(NATIVE_LINES);
    const r = encodeChunk(chunk, encodeSettings());
    assert.equal(r.lines, NATIVE_LINES);
    // An exponent with a sign, as the bench's data has: its branch of scanDecimal had no feedback.
    assert.match(Buffer.from(chunk).toString('latin1'), /\t[0-9.]+e-[0-9]+\t/);
    for (const reason of ['empty', 'key', 'type', 'geo', 'fields'] as const) assert.ok((r.rejected[reason] ?? 0) > 0, reason);
    assert.ok(r.appWarnings > 0);
    assert.ok(r.records.every((n) => n > 20), `records per type: ${r.records.join(', ')}`);
  });
});
