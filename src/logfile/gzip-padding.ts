/**
 * What may follow a gzip member whose end zlib stopped at: zero padding, then another member or
 * the end of the file. Both gunzip paths call this only where zlib stopped, which it does on its
 * own only before a zero byte (a member that follows at once it inflates without stopping), so
 * the normal file, one member or several back to back, never gets here.
 *
 * Python's gzip, which the reference loader reads with, skips zeros between members and reads
 * on; `gzip -d` does too. Anything else after the padding is not data we can read, and dropping
 * it silently would lose lines: it fails the file, naming where it starts (issue #10).
 */
import type { FileHandle } from 'node:fs/promises';
import { GzipError } from '../errors.js';

/** Where the next member starts, or the file's size when only zeros were left. */
export interface AfterPadding {
  readonly at: number;
  readonly member: boolean;
}

const SCAN_BYTES = 64 * 1024;

/**
 * Skips the zeros from `from` on. Returns the next member's offset (its first two bytes are the
 * gzip magic 1f 8b; the inflater checks the rest of its header), or the end of the file. Throws
 * a GzipError naming the offset of the first byte that is neither.
 */
export async function skipZeroPadding(file: FileHandle, path: string, from: number): Promise<AfterPadding> {
  const buf = Buffer.allocUnsafe(SCAN_BYTES);
  let pos = from;
  for (;;) {
    const { bytesRead: n } = await file.read(buf, 0, SCAN_BYTES, pos);
    if (n === 0) return { at: pos, member: false };
    let i = 0;
    while (i < n && buf[i] === 0) i++;
    if (i === n) {
      pos += n;
      continue;
    }
    const at = pos + i;
    const first = buf[i];
    // The magic's second byte may lie past this read.
    const second = i + 1 < n ? buf[i + 1] : (await file.read(buf, 0, 1, at + 1)).bytesRead === 1 ? buf[0] : undefined;
    if (first === 0x1f && second === 0x8b) return { at, member: true };
    throw new GzipError(
      `${path}: unexpected bytes at compressed byte ${at} (after a gzip member and ${at - from} zero byte(s) of padding, ` +
        'only another gzip member or the end of the file may follow; replace the file, or cut it at that byte)',
      { file: path },
    );
  }
}
