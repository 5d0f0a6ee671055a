/**
 * Preloaded into a measured child with `node --import <this> script.js`: when the process
 * exits, it writes its own getrusage (process.resourceUsage: every thread, worker threads and
 * libuv's pool included, exited ones too) and VmHWM to the file named by BENCH_RUSAGE_OUT.
 * Peak RSS is VmHWM: ru_maxrss would include the parent's RSS (Linux keeps the peak of the
 * forked pre-exec image across execve).
 * It also writes how long the main thread waited, runnable, for a CPU (the second field of
 * /proc/self/task/<pid>/schedstat). On a machine the servers share, that
 * wait is wall time the main thread's work (gunzip, sending) lost to other threads.
 * The script itself (the real memc-load bin) runs unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env['BENCH_RUSAGE_OUT'];
// Workers inherit execArgv and so run this module too: only the main thread reports.
if (out && isMainThread) {
  process.on('exit', () => {
    const ru = process.resourceUsage();
    let hwmKb: number | null = null;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
      hwmKb = m ? Number(m[1]) : null;
    } catch {
      // not Linux: maxRSS alone
    }
    let mainWaitNs: number | null = null;
    try {
      // "<ns on a CPU> <ns runnable, waiting for one> <timeslices>" (kernel sched-stats.rst)
      const waited = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').trim().split(' ')[1]);
      if (Number.isFinite(waited)) mainWaitNs = waited;
    } catch {
      // no schedstat (not Linux, or a kernel without it): the columns stay empty
    }
    writeFileSync(out, JSON.stringify({ userUs: ru.userCPUTime, systemUs: ru.systemCPUTime, maxRssKb: ru.maxRSS, hwmKb, mainWaitNs }));
  });
}
