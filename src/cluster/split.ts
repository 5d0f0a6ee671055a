/**
 * The split stage: one file read, inflated, parsed and encoded once by the loader's own feed
 * (pipeline/feed.ts: read, encode on worker threads, so the caller's event loop stays free to keep
 * its job lock, and route), its lanes' frames written into segments instead of sent:
 *
 *   Feed (read ─► encode ─► route) ─► per lane: SegmentWriter (.tmp, ~1 MiB writes → rename)
 *                                     then the manifest (.tmp → rename): done
 *
 * Reading waits (pipeline/room.ts) while the encoders hold their bound; a segment writer writes
 * each batch out (gathered to ~1 MiB) as it comes, so memory stays flat whatever the file's size.
 */
import { randomBytes } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { FileReadError, InterruptedError, SpoolError } from '../errors.js';
import { Feed } from '../pipeline/feed.js';
import { RoomWait } from '../pipeline/room.js';
import { makeFolder } from '../logfile/make-folder.js';
import { laneAddresses } from '../pool/lanes.js';
import { FileTally } from '../report/file-tally.js';
import { silentLogger, type Logger } from '../report/logger.js';
import { MANIFEST_NAME, MANIFEST_VERSION, readManifest, shapeMismatch, shapeOf, spoolFolder, type ManifestLane, type SplitManifest } from './manifest.js';
import { HandOffSource, handOffFailure } from './hand-off.js';
import { SegmentWriter } from './segment-writer.js';

export interface SplitHooks {
  readonly signal?: AbortSignal;
  /**
   * The applies of this file waiting in this process (hand-off.ts): the lanes whose frames go
   * straight to them, each through the source `make` builds. Absent: every lane to the spool.
   */
  readonly handOff?: (lanes: readonly string[], make: (server: string) => HandOffSource) => Promise<ReadonlyMap<string, HandOffSource>>;
  /** Samples of rejected lines (as the loader logs them); silent by default. */
  readonly logger?: Logger;
}

/**
 * Splits `file` into `spoolDir/<file name>/`, or returns the manifest of an earlier complete
 * split of the same input with the same options. Throws SpoolError when that earlier split used
 * other options, FileReadError when the file cannot be opened or changes while it is split, and
 * InterruptedError on abort. A file that breaks part-way (bad gzip) is data: its manifest says
 * `failed_load` and why.
 */
export async function splitFile(file: string, spoolDir: string, options: RunOptions, hooks: SplitHooks = {}): Promise<SplitManifest> {
  const path = resolve(file);
  const before = await statInput(path);
  const shape = shapeOf(options);
  const existing = await readManifest(path, spoolDir);
  // A manifest with a lane handed off is not reused: nothing could apply that lane again.
  if (existing !== undefined && !existing.lanes.some((l) => l.handOff === true)) {
    const differs = shapeMismatch(existing.shape, shape);
    if (differs === null) return existing;
    const folder = spoolFolder(path, spoolDir);
    throw new SpoolError(`${path}: refusing to use its spool ${folder}: ${differs}; run with the same options, or delete ${folder} to split it again`, { file: path });
  }
  const folder = spoolFolder(path, spoolDir);
  await makeFolder(folder).catch((err: Error) => {
    throw new SpoolError(`${path}: cannot make its spool folder ${folder} (${err.message})`, { file: path, cause: err });
  });
  const started = performance.now();
  const splitId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const opts: RunOptions = { ...options, dry: false };
  // A node listed for two types is one lane (pool/lanes.ts): its two frame streams share one segment, in order.
  const lanes = laneAddresses(DEVICE_TYPES.map((t) => opts.servers[t]));
  const tally = new FileTally(path, 0, started);
  const room = new RoomWait();
  const writers = lanes.map((_, i) => new SegmentWriter(folder, `${splitId}.${i}.seg`));
  // Lanes handed off to their applies here, claimed once the feed is up (so a failure from
  // there on reaches them through the catch below).
  let claimed: ReadonlyMap<string, HandOffSource> = new Map();
  let sources: (HandOffSource | null)[] = [];
  let fatal: Error | null = null;
  let ended: () => void = () => {};
  const end = new Promise<void>((r) => (ended = r));
  const fail = (err: Error): void => {
    fatal ??= err;
    ended();
    room.wake();
  };
  let pushed = false;
  const feed = new Feed(
    opts,
    {
      lane: (_file, lane, frames, records) => {
        const done = () => feed.recycle(frames.buffer as ArrayBuffer);
        const source = sources[lane];
        if (source != null) return source.push(frames, records, done);
        try {
          (writers[lane] as SegmentWriter).write(frames, records, done);
        } catch (err) {
          fail(err as Error);
        }
      },
      ended: () => ended(),
      // A segment writer writes (or gathers) each batch when handed it: it never holds the feed
      // back. An apply fed by a hand-off does, while it has --max-buffered-bytes not yet taken.
      full: () => sources.some((s) => s?.full === true),
      stopped: () => fatal ?? writers.find((w) => w.error !== null)?.error ?? (hooks.signal?.aborted ? interrupted(path) : null),
    },
    // One split per file, file after file in a worker: its encoder threads are kept between them.
    { log: hooks.logger ?? silentLogger, room, onFatal: fail, keepThreads: true },
  );

  try {
    const make = (server: string) => {
      const a = lanes.find((l) => l.label === server) as (typeof lanes)[number];
      return new HandOffSource({ server, host: a.host, port: a.port }, opts.maxBufferedBytes, room);
    };
    claimed = (await hooks.handOff?.(lanes.map((a) => a.label), make)) ?? claimed;
    sources = lanes.map((a) => claimed.get(a.label) ?? null);
    // An apply that stopped early (its lease ran out, its node failed) ends the split at once:
    // without a manifest, whatever the rest of the file holds.
    for (const [lane, source] of claimed) {
      void source.ended.then((e) => {
        if (!pushed && !e.clean) fail(handOffFailure(path, [[lane, e]]) as Error);
      });
    }
    const readError = await feed.read(tally);
    // Interrupted or failed meanwhile: readFile reports that as a read error; it is not the file's.
    if (fatal) throw fatal;
    if (hooks.signal?.aborted) throw interrupted(path);
    feed.end(tally, readError);
    await end;
    if (fatal) throw fatal;
    const after = await statInput(path);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new FileReadError(`${path}: changed while it was being split (size ${before.size} -> ${after.size}); split it again once it is complete`, { file: path });
    }
    pushed = true;
    for (const s of claimed.values()) s.finish();
    const segments = await Promise.all(writers.map((w) => w.finish()));
    // The manifest names a lane handed off only once its apply has it all, acknowledged.
    const ends = await Promise.all([...claimed].map(async ([lane, s]) => [lane, await s.ended] as const));
    const failed = handOffFailure(path, ends);
    if (failed !== null) throw failed;
    const report = tally.report(opts.maxErrorRate, false);
    const manifestLanes: ManifestLane[] = lanes.map((a, i) => {
      const s = sources[i];
      if (s != null) return { server: a.label, host: a.host, port: a.port, segment: null, handOff: true, records: s.pushed.records, bytes: 0, batches: s.pushed.batches };
      const w = writers[i] as SegmentWriter;
      return { server: a.label, host: a.host, port: a.port, segment: segments[i] ?? null, records: w.records, bytes: w.bytes, batches: w.batches };
    });
    const manifest: SplitManifest = {
      version: MANIFEST_VERSION,
      file: path,
      folder,
      input: { size: before.size, mtimeMs: before.mtimeMs },
      shape,
      splitId,
      lines: report.lines,
      blankLines: report.blankLines,
      rejected: report.rejected,
      rejectedTotal: report.rejectedTotal,
      appWarnings: report.appWarnings,
      records: manifestLanes.reduce((n, l) => n + l.records, 0),
      errorRate: report.errorRate,
      verdict: report.outcome,
      error: report.error,
      lanes: manifestLanes,
      seconds: (performance.now() - started) / 1000,
    };
    const tmp = join(folder, `${MANIFEST_NAME}.${splitId}.tmp`);
    await writeFile(tmp, `${JSON.stringify(manifest, null, 1)}\n`, { flush: true } as Parameters<typeof writeFile>[2]);
    await rename(tmp, join(folder, MANIFEST_NAME));
    return manifest;
  } catch (err) {
    for (const s of claimed.values()) s.fail(err as Error);
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  } finally {
    await feed.close();
  }
}

function interrupted(path: string): Error {
  return new InterruptedError(`${path}: split interrupted`, { file: path });
}

async function statInput(path: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (err) {
    throw new FileReadError(`${path}: could not read the file (${(err as Error).message})`, { file: path, cause: err });
  }
}
