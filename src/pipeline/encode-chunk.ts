/**
 * The hot loop of the tool: a chunk of whole TSV lines → per-server quiet meta-set frames.
 *
 *   input ─┬─ clean line ──▶ fast-line.ts: parsed and written in one pass ──▶ scratch[type]
 *          └─ any other ───▶ parseLine ──ok──▶ frame written into scratch[type]
 *                                └─reject──▶ counted by reason (+ a few samples)
 *   end of chunk: each non-empty scratch[type] gets `mn\r\n` and is handed over as the frame, and
 *   the next chunk takes a fresh one from `alloc`; a type whose servers are a pool is instead split
 *   by key into one buffer per node (pool/lanes.ts), and its scratch buffer is kept
 *
 * The scratch buffers come from `alloc`, a pool in the pipeline (buffer-pool.ts), so they are
 * reused and cost no page faults; each is at offset 0 of an ArrayBuffer of its own, so a worker
 * can transfer it. A result's size is only known at the end, so a scratch buffer is sized by its
 * type's last frame and grown (one copy) by a chunk that outgrows it.
 */
import { DEVICE_TYPES } from '../config/servers.js';
import { MN, metaSetFlags, metaSetHeaderMaxSize, writeMetaSetHeader } from '../memcached/encode.js';
import { laneLayout, type LaneLayout } from '../pool/lanes.js';
import { splitPool } from '../pool/split.js';
import { userAppsSize, writeUserApps } from '../proto/user-apps.js';
import { describeReject } from '../record/describe-reject.js';
import { ParsedLine, parseLine, type LineRejectReason } from '../record/parse-line.js';
import type { RejectReason } from '../record/reasons.js';
import type { ChunkResult, EncodeSettings, LineSample } from './chunk-types.js';
import { DryWriter } from './dry-writer.js';
import * as fastLine from './fast-line.js';
import { nativeLines, nativeRun, type NativeRun } from './native-encode.js';

// Constants of this module, not imported bindings, so that TurboFan inlines the fast path's
// functions and result object, used per line, without a check per call (see fast-line.ts).
const { FAST_MAX_LINE, FAST_OUT_ROOM, encodeCleanLine, fastResult, peekType } = fastLine;
const SERVERS = DEVICE_TYPES.length;
const LF = 0x0a;
const MIN_SCRATCH = 64 * 1024;
// A scratch buffer grown past this by one huge chunk is dropped afterwards, not kept for life.
const MAX_RETAINED_SCRATCH = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

// Module-level state is safe: encodeChunk is synchronous and never re-entered.
const parsed = new ParsedLine(256);
const scratch: Uint8Array[] = Array.from({ length: SERVERS }, () => EMPTY);
/** A DataView over each scratch buffer, for the fast path's doubles. */
const views: DataView[] = scratch.map((b) => new DataView(b.buffer));

/** A worker keeps one settings object for life; tests pass many. */
const layouts = new WeakMap<EncodeSettings, LaneLayout>();

function layoutOf(settings: EncodeSettings): LaneLayout {
  let layout = layouts.get(settings);
  if (layout === undefined) {
    const pools = settings.pools ?? settings.serverLabels.map((label) => [{ host: '', port: 0, weight: 1, label }]);
    layout = laneLayout(pools, settings.distribution ?? 'ketama-weighted');
    layouts.set(settings, layout);
  }
  return layout;
}

/** Where result buffers come from: `n` bytes at offset 0 of an ArrayBuffer of their own. */
export type Allocate = (n: number) => Uint8Array;

const allocateFresh: Allocate = (n) => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);

/** The current chunk's `alloc`, for `grow` (set by encodeChunk, which is never re-entered). */
let allocNow: Allocate = allocateFresh;
/** Per type: the bytes of its last frame, to size the next scratch buffer taken from `alloc`. */
const lastUsed = [0, 0, 0, 0];

/**
 * Grow `scratch[server]` (keeping `used` bytes) so it has at least `need` bytes free. A scratch
 * buffer that was handed over as a frame (see `handOver`) is replaced from `alloc`, sized by the
 * type's last frame, so that most chunks fill it without growing again.
 */
function grow(server: number, used: number, need: number, hint: number): Uint8Array {
  const old = scratch[server];
  let size = used === 0 && old.length === 0 ? Math.max(MIN_SCRATCH, lastUsed[server] + (lastUsed[server] >>> 2)) + need : Math.max(old.length * 2, hint, MIN_SCRATCH);
  while (size - used < need) size *= 2;
  // The whole ArrayBuffer: alloc's view is `size` bytes of it, and nothing else holds it.
  const next = new Uint8Array(allocNow(size).buffer);
  if (used > 0) next.set(old.subarray(0, used));
  scratch[server] = next;
  views[server] = new DataView(next.buffer);
  return next;
}

/**
 * `scratch[server]`'s `used` bytes and `mn\r\n` as a frame: the scratch buffer itself, which is
 * at offset 0 of an ArrayBuffer of its own from `alloc`, so nothing is copied; the next chunk
 * takes a fresh one (grow). Copying each chunk's frames out cost a memmove of ~0.7x the input.
 */
function handOver(server: number, used: number): Uint8Array {
  const buf = scratch[server];
  if (buf.length - used < MN.length) return ownedCopy(buf, used, MN, allocNow);
  buf.set(MN, used);
  lastUsed[server] = used;
  scratch[server] = EMPTY;
  views[server] = EMPTY_VIEW;
  return buf.subarray(0, used + MN.length);
}

/** A copy at offset 0 of an ArrayBuffer of its own (transferable), from `alloc`. */
function ownedCopy(src: Uint8Array, used: number, tail: Uint8Array, alloc: Allocate): Uint8Array {
  const out = alloc(used + tail.length);
  out.set(src.subarray(0, used));
  out.set(tail, used);
  return out;
}

/**
 * What one chunk adds up to; filled in by `encodeLines`. One for life, reset for each chunk: a
 * Tally per chunk lived only while its chunk encoded, so at a full GC none was alive, V8 dropped
 * the object shape its fields had been added through, and threw away the optimized encodeChunk
 * and encodeLines that had it built in ("weak objects"), to compile them again (issue #19).
 */
class Tally {
  lines = 0;
  nonBlank = 0;
  appWarnings = 0;
  readonly records = [0, 0, 0, 0];
  /** Bytes written into each scratch buffer. */
  readonly used = [0, 0, 0, 0];
  readonly rejected: Record<LineRejectReason, number> = { too_long: 0, fields: 0, empty: 0, type: 0, key: 0, geo: 0 };
  /** A new array each chunk: the chunk's result takes it. */
  samples: LineSample[] = [];
  maxSamples = 0;
  maxLineBytes = 0;

  reset(maxSamples: number, maxLineBytes: number): this {
    this.lines = this.nonBlank = this.appWarnings = 0;
    this.records.fill(0);
    this.used.fill(0);
    const r = this.rejected;
    r.too_long = r.fields = r.empty = r.type = r.key = r.geo = 0;
    this.samples = [];
    this.maxSamples = maxSamples;
    this.maxLineBytes = maxLineBytes;
    return this;
  }

  /** Line `line` is `input[start, end)`; only a line that makes the sample is described (a few per chunk). */
  sample(line: number, reason: LineRejectReason | 'apps', input: Buffer, start: number, end: number): void {
    if (this.samples.length >= this.maxSamples) return;
    this.samples.push({ line, reason, detail: describeReject(input, start, end, reason, this.maxLineBytes) });
  }
}

/** encodeChunk's counts (it is never re-entered). */
const theTally = new Tally();

/**
 * Parse and encode one chunk of whole lines. The frames are written into buffers from `alloc`
 * (a pool, in the pipeline). `fast` false sends every line through the general parser: the
 * tests compare the two paths with it.
 */
export function encodeChunk(chunk: Uint8Array, settings: EncodeSettings, fast = true, alloc: Allocate = allocateFresh): ChunkResult {
  // Buffer#indexOf is memchr; Uint8Array#indexOf is a generic loop, ~6x slower per line here.
  // Always parsing a Buffer also keeps parseLine monomorphic.
  const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const tally = theTally.reset(settings.maxSamples, settings.maxLineBytes);
  const layout = layoutOf(settings);
  const dryOut = settings.dry ? new DryWriter(layout, input.length >>> 1) : null;
  const native = fast && settings.encoder === 'native' ? nativeRun() : null;
  allocNow = alloc;
  encodeLines(input, settings.maxLineBytes, metaSetFlags(settings.ttl), settings.packed, dryOut, tally, fast, native);

  const frames: (Uint8Array | null)[] = new Array<Uint8Array | null>(layout.positions).fill(null);
  const records: number[] = new Array<number>(layout.positions).fill(0);
  for (let s = 0; s < SERVERS; s++) {
    const used = tally.used[s];
    const base = layout.base[s] as number;
    const placement = layout.placements[s];
    if (placement === null || placement === undefined) {
      records[base] = tally.records[s];
      frames[base] = used === 0 ? null : handOver(s, used);
    } else if (used > 0) {
      splitPool(scratch[s], used, placement, base, records, frames, (buf, n) => ownedCopy(buf, n, MN, alloc));
    }
    if (scratch[s].length > MAX_RETAINED_SCRATCH) {
      scratch[s] = EMPTY;
      views[s] = EMPTY_VIEW;
    }
  }
  const rejected: Partial<Record<RejectReason, number>> = {};
  for (const [reason, n] of Object.entries(tally.rejected)) if (n > 0) rejected[reason as LineRejectReason] = n;

  return {
    lines: tally.lines,
    nonBlank: tally.nonBlank,
    records,
    frames,
    dryText: dryOut === null ? null : dryOut.finish(),
    rejected,
    appWarnings: tally.appWarnings,
    samples: tally.samples,
  };
}

/**
 * The per-line loop, kept apart from the per-chunk bookkeeping on purpose: when both lived in one
 * function, V8 optimized it on-stack mid-loop and then deoptimized at the never-yet-run tail on
 * every call, so each chunk began in the interpreter (seen with --trace-deopt).
 */
function encodeLines(
  input: Buffer,
  maxLineBytes: number,
  flags: Uint8Array,
  packed: boolean,
  dryOut: DryWriter | null,
  tally: Tally,
  fast: boolean,
  native: NativeRun | null,
): void {
  const hint = input.length >>> 1;
  const used = tally.used;
  const records = tally.records;
  const end = input.length;
  // The fast path (fast-line.ts) needs a newline ahead of every line it reads, and only writes
  // the default encoding.
  const lastLf = fast && !packed && dryOut === null ? input.lastIndexOf(LF) : -1;
  const maxFastLine = Math.min(FAST_MAX_LINE, maxLineBytes);
  const fastRoom = FAST_OUT_ROOM + flags.length;
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let lines = 0;
  let nonBlank = 0;
  let start = 0;
  // Where the native encoder last stopped: that line is grown room for or parsed below, then it is called again.
  let nativeStop = -1;
  while (start < end) {
    if (native !== null) {
      if (start + 4 < lastLf) {
        if (start !== nativeStop) {
          const run = nativeLines(native, input, start, lastLf, maxFastLine, flags, scratch, used, records);
          lines += run.lines;
          nonBlank += run.lines;
          start = nativeStop = run.stop;
          continue;
        }
        // The addon stopped here for want of room, or at a line it does not take. Room for the
        // largest clean line settles which: with it, the line is not clean and goes to the general
        // parser below. Never the JS fast path, which takes the lines the addon takes: calling it
        // only to decline made TurboFan compile its largest function in every run (issue #19).
        const type = peekType(input, start);
        if (type >= 0 && scratch[type].length - used[type] < fastRoom) {
          grow(type, used[type], fastRoom, hint);
          nativeStop = -1;
          continue;
        }
      }
    } else if (start + 4 < lastLf) {
      const type = peekType(input, start);
      if (type >= 0) {
        let out = scratch[type];
        const p = used[type];
        if (out.length - p < fastRoom) out = grow(type, p, fastRoom, hint);
        const next = encodeCleanLine(input, inView, start, out, views[type], p, flags, maxFastLine);
        if (next >= 0) {
          used[type] = fastResult.end;
          records[type]++;
          lines++;
          nonBlank++;
          start = next;
          continue;
        }
      }
    }
    let nl = input.indexOf(LF, start);
    if (nl < 0) nl = end;
    lines++;
    const lineStart = start;
    const status = parseLine(input, start, nl, maxLineBytes, parsed);
    start = nl + 1;
    if (status === 'blank') continue;
    nonBlank++;
    if (status !== 'ok') {
      tally.rejected[status]++;
      tally.sample(lines, status, input, lineStart, nl);
      continue;
    }
    if (parsed.droppedApps) {
      tally.appWarnings++;
      tally.sample(lines, 'apps', input, lineStart, nl);
    }
    const type = parsed.type;
    records[type]++;
    if (dryOut !== null) {
      dryOut.write(input, parsed);
      continue;
    }
    const { apps, appCount, appsVarintBytes, idStart, idEnd } = parsed;
    const valueLen = userAppsSize(appCount, appsVarintBytes, packed);
    const need = metaSetHeaderMaxSize(type, idEnd - idStart, flags) + valueLen + 2;
    let out = scratch[type];
    let p = used[type];
    if (out.length - p < need) out = grow(type, p, need, hint);
    p = writeMetaSetHeader(out, p, type, input, idStart, idEnd, valueLen, flags);
    p = writeUserApps(out, p, apps, appCount, appsVarintBytes, parsed.lat, parsed.lon, packed);
    out[p++] = 0x0d;
    out[p++] = 0x0a;
    used[type] = p;
  }
  tally.lines = lines;
  tally.nonBlank = nonBlank;
}
