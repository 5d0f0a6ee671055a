/**
 * The two hashes libmemcached places keys with, over a byte range, allocating nothing: a key is
 * hashed once per record in the encode loop, where a crypto Hash object per key would cost more
 * than the rest of the record's work. Both are checked against node:crypto and against placements
 * pylibmc made (test/unit/pool/).
 */

const S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
// RFC 1321's table: floor(|sin(i + 1)| * 2^32), which doubles give exactly.
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const words = new Int32Array(16);
let padded = new Uint8Array(320);
const state = new Int32Array(4);

/**
 * MD5 of `bytes[start..end)`: its 16-byte digest as four little-endian uint32 words in `out`
 * (word k is digest bytes 4k..4k+3, the way libmemcached reads them).
 */
export function md5Words(bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
  const len = end - start;
  const total = (((len + 8) >>> 6) + 1) << 6;
  if (padded.length < total) padded = new Uint8Array(total);
  const m = padded;
  m.set(bytes.subarray(start, end), 0);
  m[len] = 0x80;
  m.fill(0, len + 1, total - 8);
  const bits = len * 8;
  m[total - 8] = bits & 0xff;
  m[total - 7] = (bits >>> 8) & 0xff;
  m[total - 6] = (bits >>> 16) & 0xff;
  m[total - 5] = (bits >>> 24) & 0xff;
  const high = Math.floor(len / 0x20000000);
  m[total - 4] = high & 0xff;
  m[total - 3] = (high >>> 8) & 0xff;
  m[total - 2] = 0;
  m[total - 1] = 0;
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  for (let block = 0; block < total; block += 64) {
    for (let i = 0; i < 16; i++) {
      const p = block + i * 4;
      words[i] = (m[p] as number) | ((m[p + 1] as number) << 8) | ((m[p + 2] as number) << 16) | ((m[p + 3] as number) << 24);
    }
    let a = state[0] as number;
    let b = state[1] as number;
    let c = state[2] as number;
    let d = state[3] as number;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const x = (a + f + (K[i] as number) + (words[g] as number)) | 0;
      const s = S[i] as number;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    state[0] = ((state[0] as number) + a) | 0;
    state[1] = ((state[1] as number) + b) | 0;
    state[2] = ((state[2] as number) + c) | 0;
    state[3] = ((state[3] as number) + d) | 0;
  }
  for (let i = 0; i < 4; i++) out[i] = (state[i] as number) >>> 0;
}

const first = new Uint32Array(4);

/** libmemcached's MEMCACHED_HASH_MD5 of a key: digest bytes 0..3, little-endian. */
export function md5Hash(bytes: Uint8Array, start: number, end: number): number {
  md5Words(bytes, start, end, first);
  return first[0] as number;
}

/**
 * libmemcached's default hash (MEMCACHED_HASH_DEFAULT, Bob Jenkins' one-at-a-time). It reads the
 * key through a signed `char`, so a byte over 0x7f adds as a negative number: 0x80 adds
 * 0xffffff80. Readers hash it that way, so the loader must too.
 */
export function oneAtATime(bytes: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    v = (v + (byte >= 0x80 ? byte - 0x100 : byte)) | 0;
    v = (v + (v << 10)) | 0;
    v ^= v >>> 6;
  }
  v = (v + (v << 3)) | 0;
  v ^= v >>> 11;
  v = (v + (v << 15)) | 0;
  return v >>> 0;
}
