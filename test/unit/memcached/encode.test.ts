import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import { ERROR_CODES } from '../../../src/errors.js';
import {
  KEY_PREFIXES,
  MN,
  encodeMetaSet,
  isValidKey,
  metaSetFlags,
  metaSetHeaderMaxSize,
  writeMetaSetHeader,
} from '../../../src/memcached/encode.js';

/** The frame as protocol.txt spells it, built with plain string concatenation. */
function expectedFrame(key: Uint8Array, value: Uint8Array, ttl: number): Buffer {
  const head = `ms ${Buffer.from(key).toString('latin1')} ${value.length} q${ttl === 0 ? '' : ` T${ttl}`}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), value, Buffer.from('\r\n')]);
}

describe('memcached/encode', () => {
  it('MN is the no-op fence', () => {
    assert.equal(MN.toString('latin1'), 'mn\r\n');
  });

  it('a quiet meta set, no expiry', () => {
    const frame = encodeMetaSet('idfa:abc', Buffer.from([0x08, 0x01, 0x0d, 0x0a]));
    assert.equal(frame.toString('latin1'), 'ms idfa:abc 4 q\r\n\x08\x01\r\n\r\n');
  });

  it('a ttl adds the T flag; 0 adds nothing', () => {
    assert.equal(encodeMetaSet('k', Buffer.from('v'), { ttl: 3600 }).toString(), 'ms k 1 q T3600\r\nv\r\n');
    assert.equal(encodeMetaSet('k', Buffer.from('v'), { ttl: 0 }).toString(), 'ms k 1 q\r\nv\r\n');
    assert.equal(encodeMetaSet('k', Buffer.alloc(0)).toString(), 'ms k 0 q\r\n\r\n');
  });

  it('rejects invalid keys with a typed error', () => {
    const bad: (string | Uint8Array)[] = ['', 'a b', 'a\tb', 'a\nb', 'a\rb', 'a\x00b', 'a\x1fb', 'a\x7fb', 'x'.repeat(251), 'é'.repeat(126)];
    for (const key of bad) {
      assert.throws(() => encodeMetaSet(key, Buffer.from('v')), { code: ERROR_CODES.INVALID_ARG, name: 'InvalidArgumentError' });
    }
    assert.equal(encodeMetaSet('x'.repeat(250), Buffer.from('v')).length, 3 + 250 + 1 + 1 + 4 + 1 + 2);
    assert.ok(encodeMetaSet('é'.repeat(125), Buffer.from('v')).includes(Buffer.from('é'.repeat(125))));
    assert.ok(encodeMetaSet(Buffer.from([0x21, 0x7e, 0x80, 0xff]), Buffer.from('v')));
  });

  it('rejects bad ttls', () => {
    for (const ttl of [-1, 1.5, NaN, Infinity]) {
      assert.throws(() => encodeMetaSet('k', Buffer.from('v'), { ttl }), { code: ERROR_CODES.INVALID_ARG });
    }
    assert.equal(Buffer.from(metaSetFlags(0)).toString(), ' q\r\n');
    assert.equal(Buffer.from(metaSetFlags(60)).toString(), ' q T60\r\n');
  });

  it('isValidKey: 1..250 bytes, nothing ≤ 0x20, no DEL', () => {
    assert.equal(isValidKey(Buffer.from('a')), true);
    assert.equal(isValidKey(Buffer.alloc(250, 0x41)), true);
    assert.equal(isValidKey(Buffer.alloc(251, 0x41)), false);
    assert.equal(isValidKey(Buffer.alloc(0)), false);
    for (let c = 0; c < 256; c++) {
      assert.equal(isValidKey(Buffer.from([0x41, c])), c > 0x20 && c !== 0x7f, `byte ${c}`);
    }
  });

  it('any valid key, value and ttl give exactly the protocol frame', () => {
    const key = fc.uint8Array({ minLength: 1, maxLength: 250 }).filter((k) => k.every((c) => c > 0x20 && c !== 0x7f));
    fc.assert(
      fc.property(key, fc.uint8Array({ maxLength: 3000 }), fc.oneof(fc.constant(0), fc.nat()), (k, v, ttl) => {
        assert.deepEqual(encodeMetaSet(k, v, { ttl }), expectedFrame(k, v, ttl));
      }),
      { numRuns: 1000 },
    );
  });

  it('writeMetaSetHeader writes the same header in place, for every device type and length', () => {
    const src = Buffer.from('....0123456789abcdef0123456789abcdef....');
    for (const ttl of [0, 86400]) {
      const flags = metaSetFlags(ttl);
      DEVICE_TYPES.forEach((type, t) => {
        for (const len of [0, 1, 9, 10, 99, 100, 999, 1000, 12345, 1048576, 4294967295]) {
          const target = Buffer.alloc(metaSetHeaderMaxSize(t, 32, flags) + 8, 0xee);
          const end = writeMetaSetHeader(target, 5, t, src, 4, 36, len, flags);
          const head = `ms ${type}:0123456789abcdef0123456789abcdef ${len} q${ttl === 0 ? '' : ` T${ttl}`}\r\n`;
          assert.equal(target.toString('latin1', 5, end), head);
          assert.ok(target.subarray(0, 5).every((b) => b === 0xee) && target.subarray(end).every((b) => b === 0xee));
        }
      });
    }
    assert.deepEqual(KEY_PREFIXES.map((p) => Buffer.from(p).toString()), DEVICE_TYPES.map((t) => `ms ${t}:`));
  });
});
