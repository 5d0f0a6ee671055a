/**
 * What the log says happened (issue #12, "Messages that say what happened"): a rejected line's
 * sample names the field and its value; a server never reached says so once, with its errno; a
 * dry run says what it would load. Real memcached, the real bin.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { refusedAddress, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { repoRoot } from '../../helpers/paths.js';
import { escapeRegExp, folderMaker, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-msg-');
const newDir = folderMaker(scratch.root);
let servers: MemcachedHandle[];
let labels: string[];

before(async () => {
  servers = await startServers(4);
  labels = servers.map((s) => s.address.label);
});
after(async () => {
  await stopAll();
  scratch.remove();
});

const ID = '0123456789abcdef0123456789abcdef';
const good = (type: string, n: number) => `${type}\t${ID.slice(0, 30)}${String(n).padStart(2, '0')}\t1.5\t-2.5\t1,2,3`;

/** A folder holding one file whose lines are `lines` joined by \n (no newline after the last). */
function logFolder(lines: readonly (string | Buffer)[], name = '20170929000000.tsv.gz'): string {
  const dir = newDir();
  const parts = lines.flatMap((l, i) => [typeof l === 'string' ? Buffer.from(l, 'utf8') : l, ...(i < lines.length - 1 ? [Buffer.from('\n')] : [])]);
  writeFileSync(join(dir, name), gzipSync(Buffer.concat(parts)));
  return dir;
}

/** The log lines of `stderr` that match `re`, without their timestamps. */
const logLines = (stderr: string, re: RegExp) =>
  stderr
    .split('\n')
    .filter((l) => re.test(l))
    .map((l) => l.replace(/^\[[^\]]+\] /, ''));

test('a rejected line sample shows the field and its offending value, escaped and cut; the same with and without workers', async () => {
  const longType = 'x'.repeat(60);
  const lines: (string | Buffer)[] = [
    good('idfa', 1),
    `ifda\t${ID}\t1\t2\t3`, // 2: type
    `idfa\t${ID}\t55,2\t42.42\t3`, // 3: geo, lat
    `gaid\t${ID}\t55.5\tinf\t3`, // 4: geo, lon
    `idfa\tonly\tthree`, // 5: fields
    `\t${ID}\t1\t2\t3`, // 6: empty dev_type
    Buffer.from(`idfa\tab\u0001c"d\t1\t2\t3`, 'latin1'), // 7: key, a control byte
    `${longType}\t${ID}\t1\t2\t3`, // 8: type, cut to 40 characters
    `adid\t${ID}\t1\t2\t${'9,'.repeat(200)}9`, // 9: too_long (inside a chunk)
    `dvid\t${ID}\t1\t2\t1,12x,3,99999999999`, // 10: kept, app ids dropped
    good('gaid', 2),
    `idfa\t${'k'.repeat(260)}\t1\t2\t3`, // 12: key over 250 bytes
    `idfa\t${ID}\t1e999\t2\t3`, // 13: geo, not finite
    `dvid\t${ID}\t1\t2\t${'7,'.repeat(300)}7`, // 14: too_long, the last line: dropped as it streams in
  ];
  const runs = [];
  for (const workers of ['0', '2']) {
    const dir = logFolder(lines);
    // 12 lines to sample, over the default 10: every one is asked for.
    const r = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--log-rejected', '12', '--workers', workers, '--max-line-bytes', '300', '--max-error-rate', '1', ...serverArgs(labels)]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /not logged/, 'no more lines than --log-rejected: no summary line');
    runs.push(logLines(r.stderr, /: (rejected|dropped)/).map((l) => l.replace(dir, 'DIR')));
  }
  const [single, threaded] = runs as [string[], string[]];
  assert.deepEqual(threaded, single, 'the --workers 2 and --workers 0 samples differ');
  const at = (n: number) => single.find((l) => l.includes(`.tsv.gz:${n}: `)) ?? `(no sample for line ${n})`;
  assert.match(at(2), /:2: rejected \(type\): "ifda" has no server$/);
  assert.match(at(3), /:3: rejected \(geo\): lat "55,2" is not a number$/);
  assert.match(at(4), /:4: rejected \(geo\): lon "inf" is not a number$/);
  assert.match(at(5), /:5: rejected \(fields\): 3 fields, not 5: "idfa\\tonly\\tthree"$/);
  assert.match(at(6), /:6: rejected \(empty\): dev_type is empty$/);
  assert.match(at(7), /:7: rejected \(key\): dev_id "ab\\u0001c\\"d" holds a space, control byte or DEL \(byte 3\)/);
  assert.match(at(8), new RegExp(`:8: rejected \\(type\\): "${'x'.repeat(40)}…" \\(60 bytes\\) has no server$`));
  assert.match(at(9), /:9: rejected \(too_long\): the line is 443 bytes, over --max-line-bytes 300$/);
  assert.match(at(10), /:10: dropped 2 app id\(s\) that are not uint32 numbers: "12x", "99999999999"/);
  assert.match(at(12), /:12: rejected \(key\): the key is 265 bytes, over 250: "idfa:k{35}…" \(265 bytes\)$/);
  assert.match(at(13), /:13: rejected \(geo\): lat "1e999" is not finite$/);
  assert.match(at(14), /:14: rejected \(too_long\): the line is 643 bytes, over --max-line-bytes 300$/);

  // The JSON log carries the value as a field of its own.
  const dir = logFolder(lines);
  const j = await runCli(['--log-format', 'json', '--log-rejected', '12', '--pattern', join(dir, '*.tsv.gz'), '--workers', '2', '--max-line-bytes', '300', '--max-error-rate', '1', ...serverArgs(labels)]);
  assert.equal(j.code, 0, j.stderr);
  const objs = j.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { line?: number; reason?: string; field?: string; value?: string; bytes?: number });
  const typeSample = objs.find((o) => o.line === 2);
  assert.deepEqual([typeSample?.reason, typeSample?.field, typeSample?.value], ['type', 'dev_type', 'ifda']);
  const latSample = objs.find((o) => o.line === 3);
  assert.deepEqual([latSample?.field, latSample?.value], ['lat', '55,2']);
  assert.equal(objs.find((o) => o.line === 14)?.bytes, 643);
});

test('a server never reached says so once, with its errno; when the retries give up, the file fails naming it and what to check', async () => {
  const down = await refusedAddress();
  const dir = logFolder([good('idfa', 1), good('dvid', 2), good('gaid', 3)]);
  const r = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--retries', '2', ...serverArgs([labels[0]!, labels[1]!, labels[2]!, down.label])]);
  assert.equal(r.code, 1, r.stderr);
  const about = logLines(r.stderr, new RegExp(escapeRegExp(down.label))).filter((l) => !/ started: /.test(l));
  const label = escapeRegExp(down.label);
  assert.equal(about.filter((l) => new RegExp(`could not connect to memcached ${label} \\(ECONNREFUSED\\)`).test(l)).length, 1, r.stderr);
  assert.match(about[0] ?? '', new RegExp(`^W could not connect to memcached ${label} \\(ECONNREFUSED\\)`), 'the first line about the server says it');
  assert.ok(!about.some((l) => /Lost connection|evictions on .* not checked/.test(l)), r.stderr);
  const gaveUp = about.find((l) => /^E could not connect to memcached .* after 3 attempt\(s\)/.test(l));
  assert.ok(gaveUp, r.stderr);
  assert.match(gaveUp, /\(ECONNREFUSED\)/);
  assert.match(gaveUp, /is memcached running there\? Check --dvid/);
  assert.match(r.stderr, new RegExp(`FAILED \\(not fully loaded\\).*could not connect to memcached ${label} after`));
  assert.deepEqual(readdirSync(dir), ['20170929000000.tsv.gz'], 'the file that failed to load is not renamed');
});

test('--dry says what it would load, in the log and in the report; --dry --report - is a usage error', async () => {
  const lines = [good('idfa', 1), good('gaid', 2), 'bad line', good('adid', 3), good('dvid', 4), good('idfa', 5)];
  const refused = await runCli(['--dry', '--pattern', join(logFolder(lines), '*.tsv.gz'), '--report', '-', ...serverArgs(labels)]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stdout, '', 'nothing is printed on stdout');
  assert.match(refused.stderr, /^memc-load: --dry prints records on stdout.*--report FILE/);

  const dir = logFolder(lines);
  const file = join(scratch.root, 'dry-report.json');
  mkdirSync(scratch.root, { recursive: true });
  const r = await runCli(['--dry', '--pattern', join(dir, '*.tsv.gz'), '--report', file, '--max-error-rate', '1', ...serverArgs(labels)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split('\n').length, 5, 'five records printed');
  const done = logLines(r.stderr, /Done/);
  assert.equal(done.length, 1, r.stderr);
  assert.match(done[0]!, /would load 5 records/);
  assert.doesNotMatch(done[0]!, /loaded=/);
  const fileLine = logLines(r.stderr, /20170929000000\.tsv\.gz: /).find((l) => /lines=/.test(l)) ?? '';
  assert.match(fileLine, /would load 5 records/);
  assert.doesNotMatch(fileLine, /loaded=|renamed=/);

  const report = JSON.parse(readFileSync(file, 'utf8')) as { dry: boolean; totals: { records: number; loaded: number }; files: { records: number }[] };
  const ajv = new Ajv.default({ strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot(), 'docs/report.schema.json'), 'utf8')));
  assert.ok(validate(report), JSON.stringify(validate.errors));
  assert.equal(report.dry, true);
  assert.equal(report.totals.records, 5);
  assert.equal(report.totals.loaded, 0);
  assert.equal(report.files[0]?.records, 5);
});

/**
 * `lines` lines, with a bad one at every 7th (a `fields` line, then a `geo` one, in turn) and an
 * app id dropped at every 31st; the counts it must produce.
 */
function manyBad(lines: number): { lines: string[]; fields: number; geo: number; apps: number; firstIssues: number[] } {
  const out: string[] = [];
  let fields = 0;
  let geo = 0;
  let apps = 0;
  const firstIssues: number[] = [];
  for (let n = 1; n <= lines; n++) {
    if (n % 7 === 0) {
      const isGeo = (n / 7) % 2 === 0;
      out.push(isGeo ? `gaid\t${ID}\tlat?\t2\t3` : `idfa\tonly\tthree`);
      if (isGeo) geo++;
      else fields++;
      firstIssues.push(n);
    } else if (n % 31 === 0) {
      out.push(`dvid\t${ID}\t1\t2\t1,12x,3`);
      apps++;
      firstIssues.push(n);
    } else out.push(good(['idfa', 'gaid', 'adid', 'dvid'][n % 4] as string, n % 97));
  }
  return { lines: out, fields, geo, apps, firstIssues };
}

test('rejected-line samples stop at --log-rejected per file (default 10), then one line says how many more; the counts stay exact', async () => {
  const bad = manyBad(1500);
  const total = bad.fields + bad.geo + bad.apps;
  assert.ok(total > 200, `the file has ${total} bad lines`);
  // Two files, so the cap is seen to be per file; small batches, so it is seen across chunks.
  const folder = () => {
    const dir = logFolder(bad.lines, '20170929000000.tsv.gz');
    writeFileSync(join(dir, '20170929000100.tsv.gz'), readFileSync(join(dir, '20170929000000.tsv.gz')));
    return dir;
  };
  const samplesOf = (stderr: string, name: string) => logLines(stderr, new RegExp(`${escapeRegExp(name)}:\\d+: (rejected|dropped)`));
  const summaryOf = (stderr: string, name: string) => logLines(stderr, new RegExp(`${escapeRegExp(name)}: \\d+ more .* not logged`));
  const counts = `${total} in all: fields=${bad.fields} geo=${bad.geo} app_warnings=${bad.apps}`;

  for (const [flag, cap] of [[[], 10], [['--log-rejected', '3'], 3], [['--log-rejected', '0'], 0]] as const) {
    const dir = folder();
    const report = join(dir, 'report.json');
    const r = await runCli([...flag, '--pattern', join(dir, '*.tsv.gz'), '--batch-bytes', '4096', '--workers', '2', '--max-error-rate', '1', '--report', report, ...serverArgs(labels)]);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['20170929000000.tsv.gz', '20170929000100.tsv.gz']) {
      const samples = samplesOf(r.stderr, name);
      assert.equal(samples.length, cap, `${name} with --log-rejected ${cap}:\n${samples.join('\n')}`);
      // The first ones of the file, in line order.
      assert.deepEqual(
        samples.map((l) => Number(/:(\d+): /.exec(l)?.[1])),
        bad.firstIssues.slice(0, cap),
      );
      const summary = summaryOf(r.stderr, name);
      if (cap === 0) assert.deepEqual(summary, [], '--log-rejected 0 logs no sample and no summary');
      else {
        assert.equal(summary.length, 1, r.stderr);
        assert.match(
          summary[0]!,
          new RegExp(`^W \\S+${escapeRegExp(name)}: ${total - cap} more rejected or warned line\\(s\\) not logged \\(${counts}\\); --log-rejected ${cap} logs the first ${cap} of each file, and the counts include every one$`),
        );
      }
      // The verdict line comes after the summary, with every line counted.
      const verdict = logLines(r.stderr, new RegExp(`${escapeRegExp(name)}: succeeded`))[0] ?? '';
      assert.match(verdict, new RegExp(`rejected=${bad.fields + bad.geo} \\(fields=${bad.fields} geo=${bad.geo}\\) app_warnings=${bad.apps} `));
      if (cap > 0) assert.ok(r.stderr.indexOf(summary[0]!) < r.stderr.indexOf(verdict), 'the summary comes before the verdict line');
    }
    const files = (JSON.parse(readFileSync(report, 'utf8')) as { files: { rejected: Record<string, number>; rejectedTotal: number; appWarnings: number }[] }).files;
    assert.equal(files.length, 2);
    for (const f of files) {
      assert.deepEqual([f.rejected['fields'], f.rejected['geo'], f.rejectedTotal, f.appWarnings], [bad.fields, bad.geo, bad.fields + bad.geo, bad.apps]);
    }
  }

  // The JSON log carries the summary's figures as fields.
  const dir = folder();
  const j = await runCli(['--log-format', 'json', '--pattern', join(dir, '*.tsv.gz'), '--max-error-rate', '1', ...serverArgs(labels)]);
  assert.equal(j.code, 0, j.stderr);
  const objs = j.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; notLogged?: number; byReason?: Record<string, number> });
  const summaries = objs.filter((o) => o.notLogged !== undefined);
  assert.equal(summaries.length, 2, j.stderr);
  assert.deepEqual(summaries[0], { ...summaries[0], level: 'warn', notLogged: total - 10, byReason: { fields: bad.fields, geo: bad.geo, apps: bad.apps } });

  const wrong = await runCli(['--log-rejected', '-1', '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)]);
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /^memc-load: --log-rejected: -1 is out of range \(0\.\.1000000\)/);
});

test('a server whose host name does not resolve is said to be a DNS failure, not asked whether memcached runs there', async () => {
  const dir = logFolder([good('idfa', 1), good('gaid', 2)]);
  const host = 'no-such-host.invalid:11211';
  const r = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--retries', '1', ...serverArgs([host, labels[1]!, labels[2]!, labels[3]!])]);
  assert.equal(r.code, 1, r.stderr);
  const about = logLines(r.stderr, /no-such-host\.invalid/).filter((l) => !/ started: /.test(l));
  // ENOTFOUND where a resolver answers; EAI_AGAIN where none can be asked (no network).
  assert.match(about[0] ?? '', /^W could not connect to memcached no-such-host\.invalid:11211 \((ENOTFOUND|EAI_AGAIN)\)/, r.stderr);
  const gaveUp = about.find((l) => /^E could not connect to memcached no-such-host\.invalid:11211 after 2 attempt\(s\)/.test(l));
  assert.ok(gaveUp, r.stderr);
  assert.match(gaveUp, /\((ENOTFOUND|EAI_AGAIN)\): the host name does not resolve \(DNS\); check --idfa \(or MEMC_LOAD_IDFA\)$/);
  assert.doesNotMatch(r.stderr, /is memcached running there/);
  assert.deepEqual(readdirSync(dir), ['20170929000000.tsv.gz'], 'nothing renamed');
});
