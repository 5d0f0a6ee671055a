/**
 * A file's name in places that hold one name per file (the cluster's job ids, its spool
 * folders): the base name, for people, and a short hash of the absolute path, so that two
 * folders' files of one name (`a/X`, `b/X` under `D/*\/*.tsv.gz`) stay two files. BullMQ refuses
 * `:` in job ids and the spool folder must be one path segment, so neither appears in it.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';

/** `20170929000000.tsv.gz@1a2b3c4d5e6f`: readable, unique per absolute path (48 bits of SHA-256). */
export function fileKey(path: string): string {
  const abs = resolve(path);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return `${basename(abs).replace(/[:/]/g, '_')}@${hash}`;
}
