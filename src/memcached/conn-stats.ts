/**
 * A plain `stats` asked over a load connection's open socket once everything it queued has
 * settled: the cluster's apply reads its node's counters after its last acknowledgement over the
 * socket that wrote them, not over one of its own (docs/architecture.md "The apply's
 * connection"). The connection's one timer covers the reply as it covers a batch in flight.
 */
import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import type { Reply } from './response-parser.js';

const STATS_REQUEST = Buffer.from('stats\r\n', 'latin1');

export class StatsAsk {
  readonly done: Promise<Readonly<Record<string, string>>>;
  readonly #label: string;
  readonly #stats: Record<string, string> = {};
  #resolve!: (stats: Readonly<Record<string, string>>) => void;
  #reject!: (err: Error) => void;

  /** Asks over `socket` at once. */
  constructor(label: string, socket: Socket) {
    this.#label = label;
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(() => {}); // the caller may look only later; a socket lost meanwhile is not unhandled
    socket.write(STATS_REQUEST);
  }

  /** True once the reply has ended. Throws ProtocolError for a reply `stats` does not get. */
  reply(reply: Reply): boolean {
    if (reply.kind === 'STAT') {
      this.#stats[reply.name] = reply.value;
      return false;
    }
    if (reply.kind !== 'END') {
      const err = new ProtocolError(`unexpected ${reply.kind} from ${this.#label} in reply to stats`, { server: this.#label });
      this.#reject(err);
      throw err;
    }
    this.#resolve(this.#stats);
    return true;
  }

  /** The socket went first: null, for the connection to forget this. */
  fail(err: Error): null {
    this.#reject(err);
    return null;
  }
}
