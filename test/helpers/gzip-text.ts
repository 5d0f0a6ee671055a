/** Lines of digits with the real files' kind of redundancy, different for each seed, so gzip levels and block sizes vary. */
export function gzipText(seed: number, bytes: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % 7 === 0 ? 0x0a : 0x30 + ((x >>> 3) & 15);
  }
  return out;
}
