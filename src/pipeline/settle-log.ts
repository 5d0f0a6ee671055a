/**
 * What the log says when a file settles: its one-line verdict, and what the servers lost meanwhile
 * (evictions, stores refused for lack of memory). Kept apart from the loader, which decides the
 * outcome; these only charge the counts to the file and say them.
 */
import type { FileReport } from '../report/file-report.js';
import type { FileTally } from '../report/file-tally.js';
import type { Logger } from '../report/logger.js';
import { REJECT_REASONS } from '../record/reasons.js';
import type { LossReport } from '../memcached/eviction-watch.js';

/** Charges what the servers lost while file `f` settled to it: a warning, or with --fail-on-evictions a failed load. */
export function chargeLosses(log: Logger, fail: boolean, f: FileTally, loss: LossReport): void {
  const servers = new Set([...Object.keys(loss.evictions), ...Object.keys(loss.storeNoMemory)]);
  for (const server of servers) {
    const evicted = loss.evictions[server] ?? 0;
    const refused = loss.storeNoMemory[server] ?? 0;
    f.noteLoss(server, evicted, refused);
    const lost = [evicted > 0 ? `evicted ${evicted} item(s)` : '', refused > 0 ? `refused ${refused} store(s) for lack of memory` : '']
      .filter(Boolean)
      .join(' and ');
    const what = `memcached ${server} ${lost} while ${f.path} settled`;
    const why = evicted > 0 ? 'items stored earlier may be gone' : 'those records are failed writes';
    const fields = { server, file: f.path, evictions: evicted, storeNoMemory: refused };
    if (fail) {
      f.addError(`${what} (--fail-on-evictions)`);
      log.log('error', `${what}: the file fails to load (--fail-on-evictions); give the server more memory (docs/operations.md)`, fields);
    } else {
      log.log('warn', `${what}: ${why}; give the server more memory (docs/operations.md)`, fields);
    }
  }
  for (const [server, why] of Object.entries(loss.unknown)) {
    f.noteLossUnknown(server, why);
    // A restart, or a lost server, fails files with or without the flag (restart-undo.ts); the flag is about evictions.
    if (fail && !f.hasFailedWrites(server) && loss.restarts[server] === undefined && loss.lost[server] === undefined) {
      // Without a reading, losses cannot be ruled out; a server already failing writes says enough.
      f.addError(`evictions on ${server} unknown: ${why} (--fail-on-evictions)`);
    }
  }
  logUnknown(log, loss, `while ${f.path} settled`);
}

export function logUnknown(log: Logger, loss: LossReport, when: string): void {
  for (const [server, why] of Object.entries(loss.unknown)) {
    if (loss.skipped.includes(server)) continue; // its lane was given up, and that was logged
    // Never reached: the loader said "could not connect" once (session.ts); a line per reading adds nothing.
    if (loss.unreachable[server] !== undefined) continue;
    const level = loss.restarts[server] !== undefined || loss.lost[server] !== undefined ? 'error' : 'warn';
    log.log(level, `evictions on ${server} not checked ${when}: ${why}`, { server });
  }
}

export function logFileReport(log: Logger, dry: boolean, r: FileReport): void {
  const rejected = REJECT_REASONS.filter((k) => r.rejected[k] > 0).map((k) => `${k}=${r.rejected[k]}`).join(' ') || 'none';
  const failed = Object.entries(r.failedWrites).map(([s, n]) => `${s}=${n}`).join(' ') || 'none';
  const evicted = Object.values(r.evictions).reduce((a, b) => a + b, 0);
  const evictedBy = Object.entries(r.evictions).map(([s, n]) => `${s}=${n}`).join(' ') || 'none';
  const level = r.outcome === 'succeeded' ? 'info' : 'error';
  const verdict = { succeeded: 'succeeded', failed_data: 'FAILED (error rate)', failed_load: 'FAILED (not fully loaded)' }[r.outcome];
  if (dry) {
    // Nothing is written or renamed: what it would load is the news, not loaded=0 renamed=no.
    log.log(
      level,
      `${r.path}: ${verdict} (dry run); would load ${r.records} records; lines=${r.lines} rejected=${r.rejectedTotal} (${rejected}) ` +
        `app_warnings=${r.appWarnings} error_rate=${r.errorRate.toFixed(4)} time=${r.seconds.toFixed(2)}s ${r.linesPerSecond} lines/s` +
        (r.error ? `; ${r.error}` : ''),
      { file: r.path, report: r },
    );
    return;
  }
  log.log(
    level,
    `${r.path}: ${verdict}; lines=${r.lines} loaded=${r.loaded} rejected=${r.rejectedTotal} (${rejected}) ` +
      `app_warnings=${r.appWarnings} failed_writes=${r.failedWritesTotal} (${failed}) ` +
      `evictions=${evicted} (${evictedBy}) ` +
      `error_rate=${r.errorRate.toFixed(4)} renamed=${r.renamed ? 'yes' : 'no'} ` +
      `time=${r.seconds.toFixed(2)}s ${r.linesPerSecond} lines/s${r.error ? `; ${r.error}` : ''}` +
      (r.heldBackBy ? `; held back by ${r.heldBackBy}, which failed to load: it will be reloaded after it` : ''),
    { file: r.path, report: r },
  );
}

/** A file the run did not read (late, or a name it cannot open): one error line, with why. */
export function logNotLoaded(log: Logger, r: FileReport): void {
  log.log('error', `${r.path}: FAILED (not loaded); ${r.error ?? ''}`, { file: r.path, report: r });
}
