/**
 * The split stage: one file read, inflated, parsed and encoded once, with the loader's own read
 * and encode stages (worker threads, so the caller's event loop stays free to keep its job
 * lock), its frames written per lane into segments instead of sent:
 *
 *   readFile ─► EncodeStage (workers, Sequencer) ─► per lane: SegmentWriter (.tmp → rename)
 *                                                   then the manifest (.tmp → rename): done
 *
 * Reading waits while the encoders hold their bound or a segment's stream is full, as the
 * loader waits for a full lane: memory stays flat whatever the file's size.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { FileReadError, InterruptedError, SpoolError } from '../errors.js';
import { inlineGunzipAvailable } from '../logfile/inline-gunzip.js';
import type { ChunkItem } from '../logfile/line-chunker.js';
import { readFile } from '../logfile/read-file.js';
import { EncodeStage, type Sequenced } from '../pipeline/encode-stage.js';
import { FileLog, LOGGED_SAMPLES_PER_FILE } from '../pipeline/file-log.js';
import { laneAddresses } from '../pool/lanes.js';
import { describeTooLong } from '../record/describe-reject.js';
import { FileTally } from '../report/file-tally.js';
import { silentLogger, type Logger } from '../report/logger.js';
import { MANIFEST_NAME, MANIFEST_VERSION, readManifest, shapeMismatch, shapeOf, spoolFolder, type ManifestLane, type SplitManifest } from './manifest.js';
import { SegmentWriter } from './segment-writer.js';

export interface SplitHooks {
  readonly signal?: AbortSignal;
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
  if (existing !== undefined) {
    const differs = shapeMismatch(existing.shape, shape);
    if (differs === null) return existing;
    const folder = spoolFolder(path, spoolDir);
    throw new SpoolError(`${path}: refusing to use its spool ${folder}: ${differs}; run with the same options, or delete ${folder} to split it again`, { file: path });
  }
  const folder = spoolFolder(path, spoolDir);
  await mkdir(folder, { recursive: true });
  const started = performance.now();
  const splitId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const opts: RunOptions = { ...options, dry: false };
  const addresses = laneAddresses(DEVICE_TYPES.map((t) => opts.servers[t]));
  // A node listed for two types is one lane: its two frame streams share one segment, in order.
  const labels = [...new Set(addresses.map((a) => a.label))];
  const laneOf = addresses.map((a) => labels.indexOf(a.label));
  const writers = labels.map((_, i) => new SegmentWriter(folder, `${splitId}.${i}.seg`));
  const log = hooks.logger ?? silentLogger;
  const fileLog = new FileLog(log);
  const tally = new FileTally(path, 0, started);
  let fatal: Error | null = null;
  let ended: () => void = () => {};
  const end = new Promise<void>((r) => (ended = r));
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const route = (e: Sequenced): void => {
    if (e.kind === 'end') {
      tally.endOfInput(e.error ? `${e.error.message}, after line ${tally.lineNumber}` : null);
      ended();
      return;
    }
    if (e.kind === 'too_long') {
      const line = tally.addTooLong(e.blank);
      if (line !== null) fileLog.sample(tally, line, 'too_long', describeTooLong(e.bytes, opts.maxLineBytes));
      return;
    }
    const r = e.result;
    const base = tally.addChunk(r);
    for (const s of r.samples) fileLog.sample(tally, base + s.line, s.reason, s.detail);
    for (const [i, frames] of r.frames.entries()) {
      if (!frames) continue;
      try {
        (writers[laneOf[i] as number] as SegmentWriter).write(frames, r.records[i] as number, () => encode.recycle(frames.buffer as ArrayBuffer));
      } catch (err) {
        fail(err as Error);
      }
    }
    wake();
  };
  const fail = (err: Error): void => {
    fatal ??= err;
    ended();
    wake();
  };
  const encode = new EncodeStage(opts, LOGGED_SAMPLES_PER_FILE, route, fail);

  const submit = async (item: ChunkItem): Promise<void> => {
    for (;;) {
      if (fatal) throw fatal;
      if (hooks.signal?.aborted) throw new InterruptedError(`${path}: split interrupted`, { file: path });
      const full = writers.find((w) => w.full);
      if (full !== undefined) await full.room();
      else if (!encode.hasRoom) await new Promise<void>((r) => waiters.push(r));
      else break;
    }
    encode.submit(tally, item);
  };

  try {
    const readError = await readFile(
      path,
      { batchBytes: opts.batchBytes, maxLineBytes: opts.maxLineBytes, inline: opts.gunzip === 'inline' && inlineGunzipAvailable(), takeBuffer: encode.takeBuffer },
      submit,
    );
    // Interrupted or failed meanwhile: readFile reports that as a read error; it is not the file's.
    if (fatal) throw fatal;
    if (hooks.signal?.aborted) throw new InterruptedError(`${path}: split interrupted`, { file: path });
    encode.end(tally, readError);
    await end;
    if (fatal) throw fatal;
    const after = await statInput(path);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new FileReadError(`${path}: changed while it was being split (size ${before.size} -> ${after.size}); split it again once it is complete`, { file: path });
    }
    const segments = await Promise.all(writers.map((w) => w.finish()));
    const report = tally.report(opts.maxErrorRate, false);
    const lanes: ManifestLane[] = labels.map((server, i) => {
      const w = writers[i] as SegmentWriter;
      const a = addresses[laneOf.indexOf(i)] as { host: string; port: number };
      return { server, host: a.host, port: a.port, segment: segments[i] ?? null, records: w.records, bytes: w.bytes, batches: w.batches };
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
      records: lanes.reduce((n, l) => n + l.records, 0),
      errorRate: report.errorRate,
      verdict: report.outcome,
      error: report.error,
      lanes,
      seconds: (performance.now() - started) / 1000,
    };
    const tmp = join(folder, `${MANIFEST_NAME}.${splitId}.tmp`);
    await writeFile(tmp, `${JSON.stringify(manifest, null, 1)}\n`, { flush: true } as Parameters<typeof writeFile>[2]);
    await rename(tmp, join(folder, MANIFEST_NAME));
    return manifest;
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  } finally {
    await encode.close();
  }
}

async function statInput(path: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (err) {
    throw new FileReadError(`${path}: could not read the file (${(err as Error).message})`, { file: path, cause: err });
  }
}
