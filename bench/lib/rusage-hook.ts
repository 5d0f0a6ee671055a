/**
 * Preloaded into a measured child with `node --import <this> script.js`: when the process
 * exits, it writes its own getrusage (process.resourceUsage: every thread, worker threads and
 * libuv's pool included, exited ones too) and VmHWM to the file named by BENCH_RUSAGE_OUT.
 * Peak RSS is VmHWM: ru_maxrss would include the parent's RSS (Linux keeps the peak of the
 * forked pre-exec image across execve).
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
    writeFileSync(out, JSON.stringify({ userUs: ru.userCPUTime, systemUs: ru.systemCPUTime, maxRssKb: ru.maxRSS, hwmKb }));
  });
}
