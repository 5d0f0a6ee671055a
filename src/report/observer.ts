import type { BatchSettled } from '../memcached/router.js';
import type { RejectReason } from '../record/reasons.js';
import type { FileReport } from './file-report.js';

/**
 * What the loader tells observers as it goes: metrics and the progress line listen here, so the
 * pipeline knows nothing of Prometheus or terminals. Every method is optional and must not throw.
 */
export interface LoadObserver {
  /** How many files this run (or watch round) will load. */
  filesFound?(count: number): void;
  fileStarted?(path: string, index: number, bytes: number): void;
  /** Compressed bytes of the current file read so far. */
  bytesRead?(path: string, bytes: number): void;
  /** Lines applied in order: non-blank lines, and rejects by reason. */
  linesApplied?(lines: number, rejected: Readonly<Partial<Record<RejectReason, number>>>): void;
  /** A batch's outcome, with its counts worked out once by the router. */
  batchSettled?(settled: BatchSettled): void;
  fileFinished?(report: FileReport): void;
  serverDown?(server: string, error: Error): void;
  serverUp?(server: string): void;
  /** Bytes queued or unacknowledged per server, sampled when asked. */
  bufferedBytes?(sample: () => Readonly<Record<string, number>>): void;
}

/** Fans one event out to several observers. */
export function combineObservers(observers: readonly (LoadObserver | undefined)[]): LoadObserver {
  const list = observers.filter((o): o is LoadObserver => o !== undefined);
  const fan =
    <K extends keyof LoadObserver>(k: K) =>
    (...args: Parameters<NonNullable<LoadObserver[K]>>) => {
      for (const o of list) (o[k] as ((...a: unknown[]) => void) | undefined)?.(...args);
    };
  return {
    filesFound: fan('filesFound'),
    fileStarted: fan('fileStarted'),
    bytesRead: fan('bytesRead'),
    linesApplied: fan('linesApplied'),
    batchSettled: fan('batchSettled'),
    fileFinished: fan('fileFinished'),
    serverDown: fan('serverDown'),
    serverUp: fan('serverUp'),
    bufferedBytes: fan('bufferedBytes'),
  };
}
