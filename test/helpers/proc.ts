/**
 * A child's run state as the kernel sees it, for fault tests that freeze processes: a signal is
 * sent at once, but the test must know the process has stopped before it says the fault is made.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The process's state letter from /proc (R, S, T…), or null once it is gone. */
export function processState(pid: number): string | null {
  try {
    return /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** SIGSTOP, then wait (bounded) until the kernel shows it stopped: true once it has, false if never or gone. */
export async function stopProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return false;
  }
  for (let i = 0; i < 200; i++) {
    const state = processState(pid);
    if (state === 'T') return true;
    if (state === null) return false;
    await sleep(10);
  }
  return false;
}
