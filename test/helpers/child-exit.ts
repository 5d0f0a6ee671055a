/**
 * Stopping a server process the tests started: signal it (unless it is gone already), resolve on
 * its exit, and take it out of its helper's set of live processes either way.
 */
import type { ChildProcess } from 'node:child_process';

export function stopTracked(child: ChildProcess, live: Set<ChildProcess>, signal: (child: ChildProcess) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    signal(child);
  });
}
