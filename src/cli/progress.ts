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
}

export interface ProgressStyle {
  readonly color: boolean;
  readonly columns: number;
}

export function renderProgress(s: ProgressSnapshot, elapsedSeconds: number, style: ProgressStyle): string {
  if (s.file === null) return '';
  const frac = s.bytesTotal > 0 ? Math.min(1, s.bytesRead / s.bytesTotal) : 0;
  const rate = elapsedSeconds > 0 ? s.lines / elapsedSeconds : 0;
  const fileRate = elapsedSeconds > 0 ? s.bytesRead / elapsedSeconds : 0;
  const eta = frac > 0 && frac < 1 && fileRate > 0 ? (s.bytesTotal - s.bytesRead) / fileRate : null;
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

/** Redraws the line a few times a second; log lines clear it first so they never interleave. */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #style: ProgressStyle;
  readonly #snapshot: () => ProgressSnapshot;
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(stream: NodeJS.WriteStream, style: ProgressStyle, snapshot: () => ProgressSnapshot) {
    this.#stream = stream;
    this.#style = style;
    this.#snapshot = snapshot;
  }

  start(intervalMs = 250): void {
    this.#timer = setInterval(() => this.draw(), intervalMs);
    this.#timer.unref();
  }

  draw(): void {
    const text = renderProgress(this.#snapshot(), (performance.now() - this.#started) / 1000, this.#style);
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
