/**
 * The live progress line on a terminal's stderr: current file, % of its bytes read, lines/s,
 * ETA for the file, errors so far. Redrawn in place with \r; never shown when stderr is not a
 * terminal, with --quiet, or in a log file, so logs and pipes stay clean.
 */
import { basename } from 'node:path';

export interface ProgressSnapshot {
  readonly file: string | null;
  readonly fileIndex: number;
  readonly files: number;
  /** Compressed bytes of the current file read so far, and its size. */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  /** Non-blank lines seen in the run so far. */
  readonly lines: number;
  /** Rejected lines plus failed writes so far. */
  readonly errors: number;
  /** Compressed bytes read in the whole run so far: earlier files' and the current one's. */
  readonly runBytesRead: number;
}

export interface ProgressStyle {
  readonly color: boolean;
  readonly columns: number;
}

/**
 * `bytesPerSecond` is the run's smoothed read rate (RateSmoother), null while it is not known yet:
 * the ETA is then `--`, not a guess.
 */
export function renderProgress(s: ProgressSnapshot, elapsedSeconds: number, style: ProgressStyle, bytesPerSecond: number | null): string {
  if (s.file === null) return '';
  const frac = s.bytesTotal > 0 ? Math.min(1, s.bytesRead / s.bytesTotal) : 0;
  const rate = elapsedSeconds > 0 ? s.lines / elapsedSeconds : 0;
  const eta = frac < 1 && bytesPerSecond !== null && bytesPerSecond > 0 ? (s.bytesTotal - s.bytesRead) / bytesPerSecond : null;
  const errors = style.color && s.errors > 0 ? `\x1b[31m${s.errors} errors\x1b[0m` : `${s.errors} errors`;
  const text =
    `[${s.fileIndex + 1}/${s.files}] ${basename(s.file)} ${(frac * 100).toFixed(1).padStart(5)}%  ` +
    `${formatRate(rate)} lines/s  ETA ${eta === null ? '--' : formatDuration(eta)}  ${errors}`;
  // Never wrap: a wrapped line cannot be redrawn in place.
  return visibleLength(text) > style.columns - 1 ? text.slice(0, Math.max(0, style.columns - 2)) : text;
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Whether to show the line at all, by the usual conventions (isatty, --quiet, NO_COLOR for color). */
export function progressStyle(stream: NodeJS.WriteStream, quiet: boolean, env: NodeJS.ProcessEnv): ProgressStyle | null {
  if (quiet || !stream.isTTY) return null;
  return { color: env['NO_COLOR'] === undefined || env['NO_COLOR'] === '', columns: terminalColumns(stream, env) };
}

/**
 * The terminal's width. A pseudo-terminal nobody sized (script(1) without a terminal of its own,
 * some CI runners) reports 0 columns: then COLUMNS, as shells and `ls` read it, else 80.
 */
export function terminalColumns(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): number {
  if (stream.columns > 0) return stream.columns;
  const fromEnv = Number(env['COLUMNS']);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80;
}

/**
 * The run's read rate in compressed bytes/s, for the ETA. The current file's bytes over the run's
 * time said hours on the first percent of every file after the first; a raw rate between two
 * draws swings with each batch. So: nothing until WARMUP_S of data, then the mean over that
 * time, then an exponentially weighted average with time constant TAU_S, carried across files
 * (the files of a run are alike, and the rate is the reader's, not a file's).
 */
export class RateSmoother {
  static readonly WARMUP_S = 2;
  static readonly TAU_S = 5;
  #first: { t: number; bytes: number } | null = null;
  #last: { t: number; bytes: number } | null = null;
  #rate: number | null = null;

  /** `bytes` read in the run so far, at `t` seconds on a monotonic clock. */
  update(bytes: number, t: number): void {
    if (this.#first === null || this.#last === null) {
      this.#first = this.#last = { t, bytes };
      return;
    }
    if (this.#rate === null) {
      const span = t - this.#first.t;
      if (span >= RateSmoother.WARMUP_S) {
        this.#rate = (bytes - this.#first.bytes) / span;
        this.#last = { t, bytes };
      }
      return;
    }
    const dt = t - this.#last.t;
    if (dt < 0.05) return; // a redraw on a file's start, right after a timer's: too short to weigh
    const alpha = 1 - Math.exp(-dt / RateSmoother.TAU_S);
    this.#rate += alpha * ((bytes - this.#last.bytes) / dt - this.#rate);
    this.#last = { t, bytes };
  }

  get bytesPerSecond(): number | null {
    return this.#rate;
  }
}

/** Redraws the line a few times a second; log lines clear it first so they never interleave. */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #style: ProgressStyle;
  readonly #snapshot: () => ProgressSnapshot;
  /** Milliseconds, monotonic; a parameter so tests drive a fake clock. */
  readonly #now: () => number;
  readonly #started: number;
  readonly #rate = new RateSmoother();
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(stream: NodeJS.WriteStream, style: ProgressStyle, snapshot: () => ProgressSnapshot, now: () => number = () => performance.now()) {
    this.#stream = stream;
    this.#style = style;
    this.#snapshot = snapshot;
    this.#now = now;
    this.#started = now();
  }

  start(intervalMs = 250): void {
    this.#timer = setInterval(() => this.draw(), intervalMs);
    this.#timer.unref();
  }

  draw(): void {
    const snap = this.#snapshot();
    const now = this.#now();
    this.#rate.update(snap.runBytesRead, now / 1000);
    const text = renderProgress(snap, (now - this.#started) / 1000, this.#style, this.#rate.bytesPerSecond);
    if (text === '') return;
    this.#stream.write(`\r\x1b[2K${text}`);
    this.#shown = true;
  }

  clear(): void {
    if (!this.#shown) return;
    this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.clear();
  }
}
