import type { Encoder } from './native-encode.js';
import type { LaneNode } from '../pool/lanes.js';
import type { Distribution } from '../pool/placement.js';
import type { RejectDetail } from '../record/describe-reject.js';
import type { RejectReason } from '../record/reasons.js';

/** What every chunk encoder needs to know; plain data so it can be posted to a worker. */
export interface EncodeSettings {
  /** Lines longer than this many bytes before their newline are rejected as `too_long`. */
  readonly maxLineBytes: number;
  /** Item expiry in seconds; 0 writes no `T` flag (never expires). */
  readonly ttl: number;
  /** Write apps in protobuf's packed form instead of the reference's unpacked form. */
  readonly packed: boolean;
  /** Dry run: produce `dryText` instead of memcached frames. */
  readonly dry: boolean;
  /** `host:port` per server index (DEVICE_TYPES order); used for dry output when `pools` is not given. */
  readonly serverLabels: readonly string[];
  /**
   * Per device type, its pool's nodes: the result then has one lane per node (pools laid end to
   * end, pool/lanes.ts). Absent: one lane per type, named by `serverLabels`.
   */
  readonly pools?: readonly (readonly LaneNode[])[];
  /** How a pool's keys are placed; the default is `ketama-weighted`. */
  readonly distribution?: Distribution;
  /** How many rejected/warned line samples one chunk may report (counts stay exact). */
  readonly maxSamples: number;
  /** Which fast path encodes clean lines (pipeline/native-encode.ts); absent: JS. */
  readonly encoder?: Encoder;
}

export interface LineSample {
  /** 1-based line number within the chunk. */
  readonly line: number;
  /** A reject reason, or `apps` for a kept line that had app ids dropped. */
  readonly reason: RejectReason | 'apps';
  /** The field and value at fault, worked out in the worker while the line's bytes are at hand. */
  readonly detail: RejectDetail;
}

/** The result of encoding one chunk of whole lines. */
export interface ChunkResult {
  /** Lines in the chunk, blank ones included (for line numbering). */
  readonly lines: number;
  /** Lines that were not blank (the error-rate denominator). */
  readonly nonBlank: number;
  /** Records per lane (per server index when every type has one server). */
  readonly records: readonly number[];
  /**
   * Per lane: the records as quiet meta sets followed by one `mn\r\n`, or null when the
   * chunk has no record for that server. Each is a view over its own ArrayBuffer (transferable).
   */
  readonly frames: readonly (Uint8Array | null)[];
  /** Dry run only: one `label\tkey\tjson\n` line per record, in line order. */
  readonly dryText: Uint8Array | null;
  /** Rejected lines by reason (only line reasons; never `too_large`). */
  readonly rejected: Readonly<Partial<Record<RejectReason, number>>>;
  /** Kept lines that had at least one app id dropped. */
  readonly appWarnings: number;
  readonly samples: readonly LineSample[];
}

/**
 * The same settings describing no rejected line: for a chunk whose file has logged all its
 * samples already (FileLog's cap), whose descriptions the main thread would drop. Describing a
 * line builds strings, and the describer grows hot enough for V8 to compile it in each worker:
 * ~10% of the loader's CPU on the bench's data (0.1% bad lines), for ten lines logged per file.
 */
export function unsampled(settings: EncodeSettings): EncodeSettings {
  return { ...settings, maxSamples: 0 };
}
