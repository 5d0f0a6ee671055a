/**
 * deploy/systemd/*.service (issue #20, item 5): each passes `systemd-analyze verify` with its
 * ExecStart pointed at this clone's bin (verify wants an executable there) and its
 * EnvironmentFile at an empty file. Skipped where systemd-analyze is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../helpers/paths.js';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const skip = existsSync(SYSTEMD_ANALYZE) ? false : `${SYSTEMD_ANALYZE} not installed (apt-get install -y systemd)`;
const unitsDir = join(repoRoot(), 'deploy/systemd');
const INSTALLED = '/usr/local/bin/memc-load';

async function verify(dir: string, unit: string): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(SYSTEMD_ANALYZE, ['verify', join(dir, unit)], { timeout: 20_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The unit as an installation would have it, with this clone's bin and a real environment file. */
function installed(dir: string, unit: string, bin: string): void {
  const text = readFileSync(join(unitsDir, unit), 'utf8');
  assert.ok(text.includes(`ExecStart=${INSTALLED} `), `${unit}: ExecStart runs ${INSTALLED}`);
  writeFileSync(join(dir, 'env'), '');
  writeFileSync(join(dir, unit), text.replaceAll(INSTALLED, bin).replace(/^EnvironmentFile=-?.*$/m, `EnvironmentFile=${join(dir, 'env')}`));
}

const units = readdirSync(unitsDir).filter((f) => f.endsWith('.service'));

test('the shipped units: one for --watch, one for worker', () => {
  assert.deepEqual(units.sort(), ['memc-load-watch.service', 'memc-load-worker.service']);
  assert.match(readFileSync(join(unitsDir, 'memc-load-watch.service'), 'utf8'), /^ExecStart=\S+ --watch .*--metrics-port \d+/m);
  assert.match(readFileSync(join(unitsDir, 'memc-load-worker.service'), 'utf8'), /^ExecStart=\S+ worker .*--metrics-port \d+/m);
});

for (const unit of units) {
  test(`systemd-analyze verify ${unit}: no error, no warning`, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memc-unit-'));
    try {
      installed(dir, unit, join(repoRoot(), 'bin/memc-load.js'));
      const r = await verify(dir, unit);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.trim(), '', `verify said: ${r.out}`);
      // The check can fail: the same unit with no executable behind ExecStart is refused.
      installed(dir, unit, join(dir, 'no-such-bin'));
      const bad = await verify(dir, unit);
      assert.notEqual(bad.code, 0, bad.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
