/**
 * A batch is the unit the pipeline hands to a connection: whole quiet meta sets closed by one
 * `mn\r\n` fence. memcached answers nothing for a stored quiet set, so every reply before the
 * fence's `MN` is a failure of some record of this batch; batches never span files, so that is
 * enough to charge the failure to the right file.
 */
export interface Batch {
  /** `ms …` frames followed by exactly one `mn\r\n`. */
  readonly buf: Uint8Array;
  /** Number of `ms` frames in `buf`. */
  readonly records: number;
  /** Opaque to the connection; the pipeline uses the file's index. */
  readonly tag: number;
}

export interface BatchFailure {
  /** Reply kind as the parser names it: SERVER_ERROR, CLIENT_ERROR, NS, EX, NF, ERROR. */
  readonly kind: string;
  /** The reply line's text after the kind, e.g. `out of memory storing object`. */
  readonly message: string;
}

export interface BatchOutcome {
  readonly batch: Batch;
  /** true: the fence was acknowledged. false: the server was given up on; nothing is known stored. */
  readonly delivered: boolean;
  /** Records memcached refused as too large for an item (SPEC.md: rejected, `too_large`). */
  readonly tooLarge: number;
  /** Records that failed otherwise (error replies, or all of them when not delivered). */
  readonly failed: number;
  /** The error replies received for this batch (capped), for the log. */
  readonly failures: readonly BatchFailure[];
  /**
   * `failed` by reason, exact: the reply line (`SERVER_ERROR out of memory storing object`, `NS`,
   * …) when delivered; the error's code (`MCL_ERR_SERVER_GONE`, …) when not.
   */
  readonly failedByReason: Readonly<Record<string, number>>;
  /** When not delivered: why (carries the server address). */
  readonly error?: Error;
}
