/**
 * Issue #10, case 1: a network partition longer than --timeout. Runs partition-run.js in a network
 * namespace of its own (root, `unshare -n`, `tc` from iproute2: .ci/run installs it), so that
 * blackholing loopback there touches nothing else on the machine.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { faultSuitesOff } from '../../helpers/fault-suites.js';

const ITERATIONS = Number(process.env['MEMC_PARTITION_RUNS'] ?? 8);

function missingTools(): string | null {
  // Under CI the trial must run: a missing tool fails it instead of skipping it.
  if (process.env['CI']) return null;
  if (process.getuid?.() !== 0) return 'needs root for a network namespace';
  for (const tool of ['unshare', 'tc', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      return `needs ${tool} (apt-get install -y iproute2 util-linux)`;
    }
  }
  return null;
}

const skip = faultSuitesOff() || missingTools();

test(
  `a partition longer than --timeout, healed at random, ${ITERATIONS} times: never exit 0 with an older value; a failed run leaves its files pending and a rerun completes them`,
  { skip: skip ?? false, timeout: ITERATIONS * 60_000 },
  async () => {
    const runner = fileURLToPath(new URL('./partition-run.js', import.meta.url));
    const child = spawn('unshare', ['-n', process.execPath, runner, String(ITERATIONS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0, `the trial itself failed:\n${err}`);
    const results = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(results.length, ITERATIONS);
    for (const r of results) {
      const what = JSON.stringify(r);
      // Not the loader's failure: the trial could not partition it while it was loading.
      assert.equal(r['made'], true, `the partition was never made in time, in ${r['attempts']} set-ups: ${what}`);
      assert.equal(r['saw'], true, `the loader saw the partition: ${what}`);
      if (r['code'] === 0) {
        assert.equal(r['wrong'], 0, `exit 0 must mean every value is the last line's: ${what}`);
        assert.equal(r['renamed'], r['files'], what);
      } else {
        assert.equal(r['code'], 1, what);
        assert.ok((r['renamed'] as number) < (r['files'] as number), `a run that failed leaves the failed file pending: ${what}`);
        assert.equal(r['rerunCode'], 0, what);
        assert.equal(r['rerunWrong'], 0, what);
        assert.equal(r['rerunRenamed'], r['files'], what);
      }
    }
  },
);
