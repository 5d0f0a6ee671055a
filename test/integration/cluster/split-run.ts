/**
 * A split in a process of its own, for split-killed.test.ts to SIGKILL part-way:
 *
 *   node split-run.js <file> <spool> <lane label>…   → "done\n" on stdout if it is not killed first
 */
import { splitFile } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';

const [file, spool, ...labels] = process.argv.slice(2) as [string, string, ...string[]];
const [idfa, gaid, adid, dvid] = labels;
const opts = resolveOptions({ servers: { idfa, gaid, adid, dvid }, workers: 1, batchBytes: 16384 });
await splitFile(file, spool, opts);
process.stdout.write('done\n');
