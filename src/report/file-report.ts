import type { Inflater } from '../logfile/gunzip-choice.js';
import type { Encoder } from '../pipeline/native-encode.js';
import type { RejectCounts } from '../record/reasons.js';

/** SPEC.md "A file's outcome". */
export const OUTCOMES = ['succeeded', 'failed_data', 'failed_load'] as const;
export type FileOutcome = (typeof OUTCOMES)[number];

export interface FileReport {
  readonly path: string;
  /** Non-blank lines: the error-rate denominator. */
  readonly lines: number;
  readonly blankLines: number;
  /** Records handed to memcached (or printed, with --dry). */
  readonly records: number;
  /** Records memcached acknowledged. */
  readonly loaded: number;
  readonly rejected: RejectCounts;
  readonly rejectedTotal: number;
  /** Kept lines that had app ids dropped. */
  readonly appWarnings: number;
  /** Records that could not be written, by server `host:port`. */
  readonly failedWrites: Readonly<Record<string, number>>;
  readonly failedWritesTotal: number;
  /**
   * The same records by reason: memcached's reply (`SERVER_ERROR out of memory storing object`,
   * `NS`, …) for refused writes, the error code (`MCL_ERR_SERVER_GONE`, …) for undelivered ones.
   */
  readonly failedWritesByReason: Readonly<Record<string, number>>;
  /**
   * Rise of each server's `evictions` counter seen while this file settled (only servers where it
   * rose). With pipelining across files it may include evictions caused by the next file's writes.
   */
  readonly evictions: Readonly<Record<string, number>>;
  /** Rise of `store_no_memory` (stores refused for lack of memory), likewise. */
  readonly storeNoMemory: Readonly<Record<string, number>>;
  /** Servers whose counters could not be compared for this file, with why. */
  readonly evictionsUnknown: Readonly<Record<string, string>>;
  readonly errorRate: number;
  readonly outcome: FileOutcome;
  /** Why the file failed to load (read error, gzip error, unreachable server …). */
  readonly error: string | null;
  readonly renamed: boolean;
  /**
   * A file this run renamed, then had to rename back (a server restarted and lost its records)
   * and could not: the shell command that does it. Otherwise null.
   */
  readonly renameBack: string | null;
  /**
   * A file that loaded (succeeded or failed on its data) but was not renamed, because an earlier
   * file of the run was not: that file's path. It will be reloaded after it. Otherwise null.
   */
  readonly heldBackBy: string | null;
  /**
   * A file not loaded because a newer file of its folder is already marked done (a late file,
   * logfile/late-files.ts): that done file's path. It fails and stays pending, holding back no
   * other file; --load-late loads it. Otherwise null (also when --load-late loaded it).
   */
  readonly late: string | null;
  /**
   * What inflated the file (logfile/gunzip-choice.ts): `isal` the native ISA-L addon, `inline`
   * zlib on the reading thread, `pool` zlib on libuv's thread pool; null when it was not read.
   */
  readonly inflater: Inflater | null;
  /**
   * What encoded the file's clean lines (pipeline/native-encode.ts): `native` the C addon, `js`
   * the JS fast path; null when the file was not read, or with --packed or --dry (every line then
   * goes the general way).
   */
  readonly encoder: Encoder | null;
  readonly seconds: number;
  readonly linesPerSecond: number;
}
