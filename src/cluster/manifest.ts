/**
 * A split file's manifest: what split found in the file (lines, rejects, its data verdict) and
 * where each lane's segment is. Written last, by temp + rename, so its presence means the split
 * is complete; everything apply and commit need to know about the file is in it.
 *
 *   <spool>/<file key>/manifest.json              the key: name@hash of the path (logfile/file-key.ts)
 *   <spool>/<file key>/<splitId>.<lane>.seg     one per lane with records, unless handed off
 *
 * Segment names carry the split's id: two splits of one file (a stalled job run twice) never
 * write the same name, and the manifest that lands last names a complete set of its own.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES, type DeviceType } from '../config/servers.js';
import { SpoolError } from '../errors.js';
import { fileKey } from '../logfile/file-key.js';
import type { RejectCounts } from '../record/reasons.js';
import type { FileOutcome } from '../report/file-report.js';

export const MANIFEST_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';

/** The options that decide a segment's bytes or the file's verdict: a re-run must match them. */
export interface SplitShape {
  readonly packed: boolean;
  readonly ttl: number;
  readonly maxLineBytes: number;
  readonly batchBytes: number;
  readonly maxErrorRate: number;
  readonly distribution: string;
  /** Every lane, in the loader's lane order (device types' pools end to end). */
  readonly lanes: readonly { readonly type: DeviceType; readonly server: string; readonly weight: number }[];
}

export interface ManifestLane {
  /** The node, `host:port` as the router and pools name it: the lane's identity. */
  readonly server: string;
  readonly host: string;
  readonly port: number;
  /** The segment's file name inside the file's spool folder; null when the lane has no record, or was handed off. */
  readonly segment: string | null;
  /**
   * The lane's frames went straight to its apply in the split's process (hand-off.ts), which had
   * them all acknowledged before this manifest was written: there is no segment to apply again.
   */
  readonly handOff?: true;
  readonly records: number;
  /** The segment's size in bytes (0 without a segment). */
  readonly bytes: number;
  readonly batches: number;
}

/** Where a lane's node is, as the split names it. */
export type LaneAddress = Pick<ManifestLane, 'server' | 'host' | 'port'>;

export interface SplitManifest {
  readonly version: number;
  /** The input, as an absolute path. */
  readonly file: string;
  /**
   * The file's spool folder, where its segments are. readManifest sets it to where it found the
   * manifest, so hosts that mount the spool at different paths each get their own.
   */
  readonly folder: string;
  /** The input when it was split: a changed file is split again. */
  readonly input: { readonly size: number; readonly mtimeMs: number };
  readonly shape: SplitShape;
  readonly splitId: string;
  /** Non-blank lines (the error-rate denominator), and blank ones. */
  readonly lines: number;
  readonly blankLines: number;
  readonly rejected: RejectCounts;
  readonly rejectedTotal: number;
  readonly appWarnings: number;
  readonly records: number;
  readonly errorRate: number;
  /**
   * The file's verdict on its own data under --max-error-rate: `failed_load` when it could not be
   * read to its end (`error` says why; its whole lines before the break are in the segments, as
   * the loader writes them). Records memcached refuses as too large (apply's `tooLarge`) and
   * failed writes are added by `fileVerdict` once every lane has applied.
   */
  readonly verdict: FileOutcome;
  readonly error: string | null;
  /** One per lane, in lane order; a node named twice (two types on one server) is one lane. */
  readonly lanes: readonly ManifestLane[];
  readonly seconds: number;
}

/** The folder holding `file`'s segments and manifest: by path, so a/X and b/X do not share one. */
export function spoolFolder(file: string, spoolDir: string): string {
  return resolve(spoolDir, fileKey(file));
}

export function shapeOf(o: RunOptions): SplitShape {
  return {
    packed: o.packed,
    ttl: o.ttl,
    maxLineBytes: o.maxLineBytes,
    batchBytes: o.batchBytes,
    maxErrorRate: o.maxErrorRate,
    distribution: o.distribution,
    lanes: DEVICE_TYPES.flatMap((type) => o.servers[type].nodes.map((n) => ({ type, server: n.label, weight: n.weight ?? 1 }))),
  };
}

/** The first option that differs between a spool's shape and a run's, as a sentence; null if none. */
export function shapeMismatch(spool: SplitShape, run: SplitShape): string | null {
  const flags: [keyof SplitShape, string][] = [
    ['packed', '--packed'],
    ['ttl', '--ttl'],
    ['maxLineBytes', '--max-line-bytes'],
    ['batchBytes', '--batch-bytes'],
    ['maxErrorRate', '--max-error-rate'],
    ['distribution', '--distribution'],
    ['lanes', 'the servers (--idfa --gaid --adid --dvid)'],
  ];
  for (const [key, flag] of flags) {
    const a = JSON.stringify(spool[key]);
    const b = JSON.stringify(run[key]);
    if (a !== b) return `it was split with ${flag} ${a}, this run has ${b}`;
  }
  return null;
}

/**
 * The manifest of a completed split of `file`, or undefined: none yet (or a partial split's
 * leftovers only), or the input changed since (size or mtime), so the spool is stale. An input
 * that is gone (marked done already) does not make it stale. A manifest that is there but
 * unreadable is a SpoolError: a split never leaves one half-written.
 */
export async function readManifest(file: string, spoolDir: string): Promise<SplitManifest | undefined> {
  const path = join(spoolFolder(file, spoolDir), MANIFEST_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SpoolError(`${file}: could not read its manifest ${path} (${(err as Error).message})`, { file, cause: err });
  }
  let m: SplitManifest;
  try {
    m = JSON.parse(text) as SplitManifest;
  } catch (err) {
    throw new SpoolError(`${file}: its manifest ${path} is damaged (${(err as Error).message}); delete ${spoolFolder(file, spoolDir)} to split it again`, { file, cause: err });
  }
  if (m.version !== MANIFEST_VERSION || m.file !== resolve(file) || !Array.isArray(m.lanes)) {
    throw new SpoolError(`${file}: ${path} is not this file's manifest (version ${String(m.version)}, file ${String(m.file)}); delete ${spoolFolder(file, spoolDir)} to split it again`, { file });
  }
  const now = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (now !== null && (now.size !== m.input.size || now.mtimeMs !== m.input.mtimeMs)) return undefined;
  return { ...m, folder: spoolFolder(file, spoolDir) };
}

/** Deletes `file`'s segments and manifest (and a crashed split's leftovers): the commit step, after the rename. */
export async function removeSpool(file: string, spoolDir: string): Promise<void> {
  await rm(spoolFolder(file, spoolDir), { recursive: true, force: true });
}
