/**
 * A file of hostile lines through the real bin (issue #4): nothing in a line may reach the wire
 * as protocol. The servers end up holding exactly the valid records' keys, every rejection is
 * counted under its reason, and the loader's memory stays bounded.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, TYPES } from '../../helpers/oracle.js';
import { judgeLine } from '../../helpers/spec-model.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-hostile-'));
after(async () => {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

const L = (s: string) => Buffer.from(s, 'latin1');
const MB = 1024 * 1024;

/** Hostile lines, each with what SPEC.md makes of it. Joined with '\n', one after another. */
const HOSTILE: readonly [string, Buffer][] = [
  ['space in the id', L('idfa\tab cd\t1\t2\t3')],
  ['a meta command smuggled after a space', L('idfa\tx mn\t1\t2\t3')],
  ['CR inside the id', L('gaid\tab\rcd\t1\t2\t3')],
  ['CR LF then a command: cut into two lines', L('adid\tx\r\nflush_all\t1\t2\t3')],
  ['LF inside a line: two bad lines', L('dvid\tabc\ndef\t1\t2\t3')],
  ['NUL in the id', L('idfa\tab\x00cd\t1\t2\t3')],
  ['other control bytes in the id', L('gaid\t\x01\x1b[2J\x08\t1\t2\t3')],
  ['DEL in the id', L('adid\tab\x7fcd\t1\t2\t3')],
  ['NUL in lat', L('dvid\tnulgeo\t1\x00\t2\t3')],
  ['251-byte key', L(`idfa\t${'k'.repeat(246)}\t1\t2\t3`)],
  ['250-byte key: the longest allowed', L(`idfa\t${'k'.repeat(245)}\t1\t2\t3`)],
  ['non-UTF-8 bytes in the id: a valid key', L('dvid\t\xff\xfe\xc3(\x80\t1.5\t-2.5\t7,8')],
  ['4 MiB line', L(`idfa\t${'a'.repeat(4 * MB)}\t1\t2\t3`)],
  ['200,000 app ids: a 400 KB value', L(`gaid\tmanyapps\t1\t2\t${Array.from({ length: 200_000 }, (_, i) => i % 10).join(',')}`)],
  ['200,000 big app ids: over the line limit', L(`adid\ttoomanyapps\t1\t2\t${Array.from({ length: 200_000 }, (_, i) => 100_000 + i).join(',')}`)],
  ['control bytes in app ids: dropped, line kept', L('adid\tdropids\t1\t2\t1,\x00,3,\x7f,4294967296,5')],
  ['infinite lat', L('idfa\tinf\t1e400\t2\t3')],
  ['nan lon', L('idfa\tnan\t1\tnan\t3')],
  ['six fields', L('idfa\tsix\t1\t2\t3\t4')],
  ['empty id', L('idfa\t\t1\t2\t3')],
  ['unknown type', L('IDFA\tupper\t1\t2\t3')],
  ['a key repeated: the last line wins', L('gaid\tmanyapps\t9\t9\t9')],
];

test('hostile lines: the run completes, servers hold exactly the valid keys, counts by reason are right, memory stays bounded', async (t) => {
  const servers = await startServers(4);
  const dir = join(root, 'logs');
  mkdirSync(dir);
  // Enough good lines around the hostile ones to stay under the 1% error threshold.
  const good = Array.from({ length: 4000 }, (_, i) => L(`${TYPES[i % 4]}\tdev${i % 3000}\t${i / 7}\t-${i / 3}\t${i % 9998},${(i * 7) % 9998},1`));
  const lines = [...good.slice(0, 2000), ...HOSTILE.map(([, b]) => b), ...good.slice(2000)];
  const file = join(dir, '20170929000000.tsv.gz');
  writeFileSync(file, gzipSync(Buffer.concat(lines.flatMap((b) => [b, L('\n')]))));

  const expected = expectFrom([file]);
  // The oracle agrees with the intent of each hostile line.
  const verdict = (b: Buffer) => {
    const parts = b.toString('latin1').split('\n').map((l) => judgeLine(l));
    return parts.map((r) => (typeof r === 'string' ? r : 'ok')).join('+');
  };
  assert.deepEqual(
    Object.fromEntries(HOSTILE.map(([name, b]) => [name, verdict(b)])),
    {
      'space in the id': 'key',
      'a meta command smuggled after a space': 'key',
      'CR inside the id': 'key',
      'CR LF then a command: cut into two lines': 'fields+fields',
      'LF inside a line: two bad lines': 'fields+fields',
      'NUL in the id': 'key',
      'other control bytes in the id': 'key',
      'DEL in the id': 'key',
      'NUL in lat': 'geo',
      '251-byte key': 'key',
      '250-byte key: the longest allowed': 'ok',
      'non-UTF-8 bytes in the id: a valid key': 'ok',
      '4 MiB line': 'too_long',
      '200,000 app ids: a 400 KB value': 'ok',
      '200,000 big app ids: over the line limit': 'too_long',
      'control bytes in app ids: dropped, line kept': 'ok',
      'infinite lat': 'geo',
      'nan lon': 'geo',
      'six fields': 'fields',
      'empty id': 'empty',
      'unknown type': 'type',
      'a key repeated: the last line wins': 'ok',
    },
  );

  // Peak RSS of the whole child (main thread and workers), reported as it exits.
  const report = "process.on('exit',()=>process.stderr.write('maxrss_kb='+process.resourceUsage().maxRSS+'\\n'))";
  const env = { ...process.env, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=data:text/javascript,${encodeURIComponent(report)}` };
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))], { env });
  assert.equal(run.code, 0, run.stderr.slice(0, 5000));
  assert.deepEqual(doneFiles(dir), ['.20170929000000.tsv.gz']);

  // Exactly the valid records' keys, each with the value of its last line (raw bytes keys).
  await checkServers(servers.map((s) => s.address), expected);

  // Counts by reason in the file's log line match the oracle.
  const line = run.stderr.split('\n').find((l) => l.includes('20170929000000.tsv.gz: succeeded')) ?? '';
  const m = /lines=(\d+) loaded=(\d+) rejected=(\d+) \(([^)]*)\) app_warnings=(\d+)/.exec(line);
  assert.ok(m, run.stderr.slice(-3000));
  const rejected = Object.values(expected.rejected).reduce((a, b) => a + b, 0);
  assert.equal(Number(m[1]), expected.lines);
  assert.equal(Number(m[2]), expected.records.length);
  assert.equal(Number(m[3]), rejected);
  const byReason = Object.fromEntries(m[4]!.split(' ').map((kv) => kv.split('=') as [string, string]).map(([k, v]) => [k, Number(v)]));
  assert.deepEqual(byReason, expected.rejected);
  assert.equal(Number(m[5]), 1, 'one line had app ids dropped');

  const rss = [...run.stderr.matchAll(/maxrss_kb=(\d+)/g)].map((x) => Number(x[1]));
  assert.ok(rss.length > 0, 'the child reported its peak RSS');
  const peakMb = Math.max(...rss) / 1024;
  t.diagnostic(`peak RSS of the loader: ${peakMb.toFixed(0)} MB; ${line.replace(/^.*?: succeeded; /, '')}`);
  assert.ok(peakMb < 300, `peak RSS ${peakMb.toFixed(0)} MB`);
});
