/**
 * Instructions per line of parse-encode.bench.ts, counted by valgrind (callgrind): a yardstick
 * for changes to the hot loop that the wall clock on a shared machine cannot resolve. Timings
 * of the same build differ by 10–15% from run to run here; these counts differ by ~0.1%.
 *
 *   npm run bench:instructions            (LINES=20000; needs valgrind: apt-get install -y valgrind)
 *   ENCODER=native npm run bench:instructions   the C fast path (pipeline/native-encode.ts): callgrind
 *                                         counts the addon's instructions as it does V8's
 *
 * How: the micro benchmark runs twice under callgrind, with ROUNDS=3 and ROUNDS=8, and the
 * difference is divided by 5 rounds × LINES: start-up, data generation and the first rounds'
 * compilation cancel out. `--single-threaded` makes V8 compile on the main thread, at the same
 * point in every run, so the count does not depend on when a background compile finished;
 * `--predictable` keeps V8's heap sizing from following the clock: without it, counts of one
 * build moved by up to 8% between runs on a loaded machine (6,871 and 6,876 with it, at load 10-20).
 * Compare builds by running this on each (a git worktree for the old one).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LINES = Number(process.env.LINES ?? 20_000);
const FEW = 3;
const MANY = 8;
const script = fileURLToPath(new URL('./parse-encode.bench.js', import.meta.url));

function count(rounds: number): Promise<number> {
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', process.execPath, '--single-threaded', '--predictable', script];
  return new Promise((resolve, reject) => {
    execFile('valgrind', args, { env: { ...process.env, LINES: String(LINES), ROUNDS: String(rounds) }, maxBuffer: 1 << 24 }, (err, _out, stderr) => {
      if (err) {
        const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (valgrind is not installed: apt-get install -y valgrind)' : `: ${stderr.slice(-500)}`;
        reject(new Error(`valgrind failed${hint}`, { cause: err }));
        return;
      }
      const m = /Collected : (\d+)/.exec(stderr);
      if (!m) reject(new Error(`no "Collected" line in callgrind's output: ${stderr.slice(-500)}`));
      else resolve(Number(m[1]));
    });
  });
}

const [few, many] = await Promise.all([count(FEW), count(MANY)]);
const perLine = (many - few) / ((MANY - FEW) * LINES);
console.log(`parse-encode: ${Math.round(perLine).toLocaleString('en')} instructions per line (${LINES} lines; ${FEW} rounds ${few}, ${MANY} rounds ${many})`);
