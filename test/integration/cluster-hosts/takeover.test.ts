/**
 * Issue #18, item 8: a taken-over apply, with the workers on hosts of their own (network
 * namespaces, test/helpers/netns.ts): worker A applies file 0 on the idfa node when
 * - (a) its host is cut off for longer than its lock (`--lock-duration 1000`), then healed: what
 *   its kernel held arrives late;
 * - (b) it is paused (SIGSTOP) for 4 s, with and without the node frozen for 0.7 s first;
 * - (c) it is SIGKILLed;
 * and worker B, on another host, takes the apply over. Each run ends either with every file
 * renamed and every value the oracle's, or with a failure that says so and leaves files pending;
 * a re-enqueue then ends with every value right. Each fault is proven made (A mid-apply on the
 * node when it struck, the cut seen by a probe) before anything is judged; a set-up that came too
 * late is made again, and never counted against the loader.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { applyQueue, jobIds, PREFIX } from '../../../src/queue/names.js';
import { doneFiles } from '../../helpers/check.js';
import { stopAllCli, type RunningCli } from '../../helpers/cli.js';
import { stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { netnsMissing } from '../../helpers/netns.js';
import { expectFrom, pendingFiles, type Expected } from '../../helpers/oracle.js';
import { processState, stopProcess } from '../../helpers/proc.js';
import { redisMissing, stopAllRedis } from '../../helpers/redis.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';
import { LOCK_MS, listedClients, startHostsRig, untilHostDrained, type HostsRig } from './rig.js';
import { faultSuitesOff } from '../../helpers/fault-suites.js';

const scratch = new Scratch('memc-load-hosts-');
const skip = faultSuitesOff() || netnsMissing() || redisMissing();
let expected: Expected;
before(async () => {
  if (skip) return;
  await generateLogs({ dir: scratch.dataset, files: 3, lines: 16_000, seed: 18, repeatRate: 1 / 3 });
  expected = expectFrom(pendingFiles(scratch.dataset));
});
after(async () => {
  await stopAllCli();
  await stopAll();
  await stopAllRedis();
  scratch.remove();
});

const A_LINK_MBIT = 20;

/** How many times a trial sets its fault up before it reports that it could not. */
const SETUP_ATTEMPTS = 3;

interface Scene {
  readonly rig: HostsRig;
  readonly a: RunningCli;
  readonly node: MemcachedHandle;
  /** Whether apply(file 0, node) has not completed (read from BullMQ: proof A was mid-apply). */
  unfinished(): Promise<boolean>;
  /** Until B has gone past file 1 (renamed it, or failed a job), or `ms` passed. */
  laterFileOr(ms: number): Promise<void>;
}

/** The fault: null when it could not be made in time (then why), else when it is over. */
type Fault = (scene: Scene) => Promise<{ made: false; why: string } | { made: true; over: Promise<string> }>;

interface Trial {
  readonly attempts: number;
  readonly misses: readonly string[];
  readonly code: number | null;
  readonly stderr: string;
  /** What the node made of A's connection once the fault was over. */
  readonly after: string;
}

/**
 * Plans the files with A alone, waits until A is writing file 0 to the idfa node, starts B on
 * another host, makes the fault, and judges the run and a re-enqueue against the oracle.
 */
async function trial(name: string, fault: Fault, options: readonly string[] = []): Promise<Trial> {
  const misses: string[] = [];
  const t0 = performance.now();
  const mark = (what: string) => process.env['MEMC_HOSTS_DEBUG'] && console.error(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  for (let attempt = 1; attempt <= SETUP_ATTEMPTS; attempt++) {
    const rig = await startHostsRig(2);
    try {
      const dir = scratch.copy(`${name}-${attempt}`);
      const files = pendingFiles(dir);
      const pattern = join(dir, '*.tsv.gz');
      const node = rig.nodes[0] as MemcachedHandle;
      // A's host is a slower link away (~1 s for a file's sets on all four nodes), so that a
      // fault can strike while it writes, however loaded this machine is.
      rig.lab.shape(rig.lab.hosts[0]!, A_LINK_MBIT);
      const a = rig.startWorker(rig.lab.hosts[0]!);
      mark('rig up');
      // The plan's verdict is this enqueue's exit: it plans, then waits for the files.
      const run = rig.startEnqueue(['--pattern', pattern, '--wait', ...options]);
      await run.waitForStderr(/planned p\d+/, 60_000);
      mark('planned');
      const plan = /planned (p\d+)/.exec(run.stderr())?.[1] as string;
      await a.waitForStderr(new RegExp(`apply ${escapeRegExp(basename(files[0]!))} on ${escapeRegExp(node.address.label)}: started`), 60_000);
      // A writes once its split is done: the first item stored on the node is the cue.
      await untilHolds(node);
      mark('A writing');
      const b = rig.startWorker(rig.lab.hosts[1]!);
      const redis = new Redis(rig.redis.url, { maxRetriesPerRequest: null });
      const lane = new Queue(applyQueue(node.address.label), { connection: redis, prefix: PREFIX });
      try {
        const scene: Scene = {
          rig,
          a,
          node,
          unfinished: async () => (await (await lane.getJob(jobIds.apply(plan, files[0]!, node.address.label)))?.getState()) !== 'completed',
          // B has applied file 1 on the node (renamed), or gave up on it (a failure), or `ms` passed.
          laterFileOr: (ms) =>
            b.waitForStderr(new RegExp(`${escapeRegExp(basename(files[1]!))}: \\w+, renamed|job \\S+ failed`), ms).catch(() => undefined),
        };
        const made = await fault(scene);
        mark(`fault made: ${made.made}`);
        if (!made.made) {
          misses.push(made.why);
          continue;
        }
        const [ran, afterFault] = await Promise.all([run.done, made.over]);
        mark(`run exit ${ran.code}`);
        const renamed = doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')).length;
        const s = await rig.status();
        const what = `${ran.stderr.slice(-3000)}\n${JSON.stringify(s.files.filter((f) => f.state !== 'done'))}\n${s.events.join('\n')}`;
        mark(what);
        if (ran.code === 0) {
          assert.equal(renamed, files.length, `exit 0 renames every file: ${what}`);
          await rig.check(expected);
        } else {
          assert.equal(ran.code, 1, what);
          assert.ok(renamed < files.length, `a failed run leaves its failed file pending: ${what}`);
          assert.match(ran.stderr, /failed/, 'the failure is said');
        }
        // B took A's apply over (the fault's effect, not only its cause: the old queue/ paused
        // cases checked this too).
        assert.ok(s.events.some((e) => /taken over after its worker stopped answering/.test(e)), `status shows the takeover: ${what}`);
        mark('checked');
        // Again, healed and with every worker back: every value right.
        const again = await rig.enqueue(['--pattern', pattern, '--wait', ...options], 120_000);
        const s2 = await rig.status();
        assert.equal(again.code, 0, `${again.stderr}\n${JSON.stringify(s2.files.filter((f) => f.state !== 'done'))}\n${s2.events.join('\n')}`);
        assert.equal(doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')).length, files.length);
        await rig.check(expected);
        mark('again checked');
        return { attempts: attempt, misses, code: ran.code, stderr: ran.stderr, after: afterFault };
      } finally {
        await lane.close();
        redis.disconnect();
      }
    } finally {
      await rig.stop();
    }
  }
  // Not the loader's failure: the fault never struck while A was mid-apply.
  assert.fail(`the fault could not be made in ${SETUP_ATTEMPTS} set-ups: ${misses.join('; ')}`);
}

/** Until the node holds an item (bounded; a slow reply on a loaded machine is asked again). */
async function untilHolds(node: MemcachedHandle): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const items = await stats(node.address, 5000).then((s) => Number(s['curr_items']), () => 0);
    if (items > 0) return;
    await sleep(5);
  }
}

/** Until the node no longer lists a connection from `host` (A's, gone), bounded. */
async function untilUnlisted(node: MemcachedHandle, address: string, ms = 10_000): Promise<string> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (!(await listedClients(node.address)).some((c) => c.startsWith(`${address}:`))) return "the node let A's connection go";
    await sleep(100);
  }
  return `the node still listed A's connection ${ms} ms after the fault`;
}

const FREEZE_MS = 700;
const PAUSE_MS = 4000;
/**
 * How much longer a fault lasts, at most, waiting for B to go past file 1 (it cannot while the
 * fence waits for A's connection to go).
 */
const LATER_MS = 6000;

test('(a) a worker host cut off mid-apply for longer than its lock, then healed: the run is right or fails visibly; a re-enqueue is right', { skip, timeout: 240_000 }, async (ctx) => {
  const t = await trial('cut', async ({ rig, node, unfinished, laterFileOr }) => {
    const host = rig.lab.hosts[0]!;
    // Cut while A's sets stream (not after a node freeze, whose receive buffer would take them
    // all in): its kernel holds what the node has not acknowledged, and retransmits it after.
    const cut = await rig.lab.cut(host, node.port);
    const listed = (await listedClients(node.address)).some((c) => c.startsWith(`${host.address}:`));
    const mid = await unfinished();
    if (!cut.verified || !listed || !mid) {
      rig.lab.heal(host);
      return { made: false, why: `cut ${cut.verified ? 'seen' : 'not seen'} by the probe, A ${listed ? '' : 'not '}connected, its apply ${mid ? 'unfinished' : 'finished'}` };
    }
    const over = (async () => {
      // The late bytes must come after B's newer values: the link heals once B is past file 1
      // (or could not get past it).
      await Promise.all([sleep(2 * LOCK_MS), laterFileOr(LATER_MS)]);
      rig.lab.heal(host);
      const after = await untilUnlisted(node, host.address);
      assert.ok(await untilHostDrained(host), 'what the cut host held was delivered before the values are read');
      return after;
    })();
    return { made: true, over };
    // A --timeout longer than the cut: A's socket is not reset meanwhile, so its kernel still
    // holds the bytes when the link heals, and delivers them then.
  }, ['--timeout', '30000']);
  ctx.diagnostic(JSON.stringify({ attempts: t.attempts, misses: t.misses, code: t.code, after: t.after }));
});

for (const freeze of [true, false]) {
  test(`(b) a worker paused mid-apply past its lock${freeze ? ', on a node frozen for 0.7 s' : ''}, while another takes over: the run is right or fails visibly; a re-enqueue is right`, { skip, timeout: 240_000 }, async (ctx) => {
    const t = await trial(freeze ? 'paused-frozen' : 'paused', async ({ rig, a, node, unfinished, laterFileOr }) => {
      const pid = a.child.pid as number;
      if (freeze) node.pause();
      const stopped = await stopProcess(pid);
      if (freeze) {
        await sleep(FREEZE_MS);
        node.resume();
      }
      const listed = (await listedClients(node.address)).some((c) => c.startsWith(`${rig.lab.hosts[0]!.address}:`));
      const mid = await unfinished();
      if (!stopped || !listed || !mid) {
        a.child.kill('SIGCONT');
        return { made: false, why: `A ${stopped ? 'stopped' : 'not stopped'}, ${listed ? '' : 'not '}connected, its apply ${mid ? 'unfinished' : 'finished'}` };
      }
      const over = (async () => {
        await Promise.all([sleep(PAUSE_MS), laterFileOr(LATER_MS)]);
        a.child.kill('SIGCONT');
        const after = await untilUnlisted(node, rig.lab.hosts[0]!.address);
        assert.ok(await untilHostDrained(rig.lab.hosts[0]!), 'what the paused worker held was delivered before the values are read');
        return after;
      })();
      return { made: true, over };
    });
    ctx.diagnostic(JSON.stringify({ attempts: t.attempts, misses: t.misses, code: t.code, after: t.after }));
  });
}

test('(c) a worker SIGKILLed mid-apply: the run is right or fails visibly; a re-enqueue is right', { skip, timeout: 240_000 }, async (ctx) => {
  const t = await trial('killed', async ({ rig, a, node, unfinished }) => {
    const listed = (await listedClients(node.address)).some((c) => c.startsWith(`${rig.lab.hosts[0]!.address}:`));
    a.child.kill('SIGKILL');
    await a.done;
    const mid = await unfinished();
    if (!listed || !mid || processState(a.child.pid as number) !== null) {
      return { made: false, why: `A ${listed ? '' : 'not '}connected, its apply ${mid ? 'unfinished' : 'finished'}` };
    }
    return { made: true, over: untilUnlisted(node, rig.lab.hosts[0]!.address) };
  });
  ctx.diagnostic(JSON.stringify({ attempts: t.attempts, misses: t.misses, code: t.code, after: t.after }));
});
