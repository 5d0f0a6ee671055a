/**
 * The single host's lanes, open for a run or a watch session: the Router (one connection per
 * lane, pool/lanes.ts), what the log says about their servers (unreachable once, answering
 * again, lost, given up on), the counters' baseline before the first file, and the per-node
 * figures of the report. The session wires it to the feed and to settle.
 */
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { connectFailure } from '../memcached/connect-failure.js';
import { laneOptions, Router, type BatchSettled } from '../memcached/router.js';
import { laneAddresses } from '../pool/lanes.js';
import type { FileReport } from '../report/file-report.js';
import type { Logger } from '../report/logger.js';
import { NodeTally, type NodeFigures } from '../report/node-tally.js';
import type { LoadObserver } from '../report/observer.js';
import { logUnknown } from './settle-log.js';

export interface LaneEvents {
  settled(s: BatchSettled): void;
  /** A full lane has room again. */
  room(): void;
}

export class RouteLanes {
  readonly router: Router;
  readonly #opts: RunOptions;
  readonly #log: Logger;
  readonly #observer: LoadObserver;
  /** Per node, for the whole session (a watch session's rounds add up). */
  readonly #nodes: NodeTally;
  /** Servers said to be unreachable and not reached since: said once, not per reading or attempt. */
  readonly #unreached = new Set<string>();

  constructor(opts: RunOptions, log: Logger, observer: LoadObserver, events: LaneEvents) {
    this.#opts = opts;
    this.#log = log;
    this.#observer = observer;
    this.#nodes = new NodeTally(DEVICE_TYPES.flatMap((type) => opts.servers[type].nodes.map((n) => ({ server: n.label, type }))));
    const lanes = laneAddresses(DEVICE_TYPES.map((t) => opts.servers[t]));
    this.router = new Router(
      lanes,
      laneOptions(opts),
      {
        settled: (s) => {
          this.#nodes.batchSettled(s);
          events.settled(s);
        },
        room: () => events.room(),
        up: (server) => {
          observer.serverUp?.(server);
          if (this.#unreached.delete(server)) log.log('info', `memcached ${server} answers now`, { server });
        },
        lost: (server, err, reached) => {
          observer.serverDown?.(server, err);
          const never = reached ? null : connectFailure(err);
          if (never !== null) this.#unreachable(server, never);
          else log.log('warn', `Lost connection to ${server} (${err.message}); reconnecting`, { server });
        },
        gone: (server, err) => {
          observer.serverDown?.(server, err);
          log.log('error', err.message, { server });
        },
      },
      // One hint per lane: the flag of every type whose pool lists the node.
      lanes.map((lane) => {
        const types = DEVICE_TYPES.filter((t) => opts.servers[t].nodes.some((n) => n.label === lane.label));
        return `is memcached running there? Check ${types.map((t) => `--${t} (or MEMC_LOAD_${t.toUpperCase()})`).join(', ')}`;
      }),
    );
    observer.bufferedBytes?.(() => this.router.bufferedBytes());
  }

  /** Takes the servers' counters as the baseline, before any file. */
  async baseline(timeoutMs: number): Promise<void> {
    const loss = await this.router.readLosses(timeoutMs);
    for (const [server, why] of Object.entries(loss.unreachable)) this.#unreachable(server, why);
    logUnknown(this.#log, loss, 'before the run');
  }

  /** A server given up on in an earlier round of a watch session is tried again: it may be back. */
  revive(): void {
    for (const server of this.router.revive()) {
      this.#log.log('info', `Trying memcached ${server} again (given up on in an earlier round)`, { server });
    }
  }

  /** Between a watch's rounds: lanes lost while idle reconnect as soon as their server answers (Router.probeDown). */
  probeDown(): void {
    this.router.probeDown(this.#opts.connectTimeoutMs);
  }

  /** Per-node figures so far, evictions from `files`' reports. */
  nodeFigures(files: readonly FileReport[]): NodeFigures[] {
    return this.#nodes.figures(files);
  }

  /** A server that never answered: one line for it, however many readings and attempts fail. */
  #unreachable(server: string, why: string): void {
    if (this.#unreached.has(server)) return;
    this.#unreached.add(server);
    const retries = `retrying up to ${this.#opts.retries} time(s) when records are sent to it (--retries)`;
    this.#log.log('warn', `could not connect to memcached ${server} (${why}); ${retries}`, { server, error: why });
  }
}
