/**
 * A socket's opening, between TCP connect and its first set: first, while its connection still
 * wants one (`onStats`), a plain `stats` whose reply the caller is awaited on (the cluster's
 * apply takes its eviction and restart baseline and the node's identity from it, and reads from
 * Redis which earlier holders' sockets to fence: they join the stale ones before the fence is
 * judged, on a `stats conns` asked only after that); then the handshake's `stats` requests, their
 * replies fed to Handshake (handshake.ts: the item limit, the socket's identity, the reconnect
 * fence), asks again when told to, and then awaits the caller's beforeWrites (the cluster
 * records the socket's identity in Redis there, docs/protocol.md "The takeover fence").
 * An open socket handed to its connection's next job (`nextJob`) opens again the same way, on
 * that job's hooks, with `stats conns` alone for the handshake (its item limit is known).
 * The connection keeps the socket, the timer and the failure path; this keeps the order.
 */
import type { Socket } from 'node:net';
import { FenceError, ProtocolError } from '../errors.js';
import type { ConnClock } from './conn-clock.js';
import { debug, type Rebind } from './conn-socket.js';
import { Handshake, HANDSHAKE_REQUEST, STATS_CONNS, type ConnIdentity, type HandshakeStep } from './handshake.js';
import type { JobHooks } from './connection-options.js';
import type { Reply } from './response-parser.js';

const STATS = Buffer.from('stats\r\n', 'latin1');

/** What the opening asks of its connection. */
export interface OpeningHost {
  readonly label: string;
  readonly responseTimeoutMs: number;
  /** What the connection's sockets carry from one to the next, and the job they write for. */
  readonly carry: Carried;
  /** The connection's one timer: a reply is due, or the fence's next poll; stopped while the caller is awaited. */
  readonly clock: Pick<ConnClock, 'arm' | 'stop'>;
  /** Still this connection's socket, still opening? (A late beforeWrites must not revive a dead one.) */
  current(socket: Socket): boolean;
  /** Fails the socket: the connection's one failure path. */
  fail(socket: Socket, err: Error): void;
  /** Sets may go: the handshake answered, the fence passed, beforeWrites resolved. */
  ready(): void;
}

type OnStats = ((stats: Readonly<Record<string, string>> | null) => Promise<readonly (ConnIdentity | null)[]>) | null;

/**
 * What a connection's next socket must wait out, where it rebinds, whether it asks `stats` first,
 * and the job it writes for: its write gate and its beforeWrites. A connection kept across jobs
 * (the cluster's next file on a node) is handed each job's own (`nextJob`), so the old job's
 * gate never lets a write of the new one through, nor the reverse, and the open socket is
 * recorded again under each job before that job's first write.
 */
export class Carried {
  /** Abandoned sockets whose writes were unacknowledged: null where the server never told who they were. */
  stale: (ConnIdentity | null)[];
  /** Where the last socket we reset with writes in flight was bound (conn-socket.ts). */
  rebind: Rebind = null;
  /** Asked before each write of batches; null: none (the single host). */
  gate: (() => Error | null) | null;
  beforeWrites: ((self: ConnIdentity | null) => Promise<void>) | null;
  #onStats: OnStats;
  /** The `onStats` caller has its reply (or there is none to give). */
  #told: boolean;

  constructor(fenceFirst: readonly (ConnIdentity | null)[], job: Required<JobHooks>) {
    this.stale = [...fenceFirst];
    this.gate = job.writeGate;
    this.beforeWrites = job.beforeWrites;
    this.#onStats = job.onStats;
    this.#told = job.onStats === null;
  }

  /** The connection's next job: its hooks replace the last job's, whose writes have all settled. */
  nextJob(job: JobHooks): void {
    this.gate = job.writeGate ?? null;
    this.beforeWrites = job.beforeWrites ?? null;
    this.#onStats = job.onStats ?? null;
    this.#told = this.#onStats === null;
  }

  get wantsStats(): boolean {
    return !this.#told;
  }

  /** Hands the `stats` reply on (null: not one); resolves to every socket to fence, those it adds included. */
  async told(stats: Readonly<Record<string, string>> | null): Promise<readonly (ConnIdentity | null)[]> {
    const more = await (this.#onStats as NonNullable<OnStats>)(stats);
    if (!this.#told) this.stale.push(...more);
    this.#told = true;
    return this.stale;
  }

  /** The fence passed: the abandoned sockets are closed on the server. */
  fenced(): void {
    this.stale = [];
    this.rebind = null;
  }
}

export class Opening {
  readonly #socket: Socket;
  readonly #host: OpeningHost;
  /** Set when the socket was open before (its connection's next job): what its first opening learnt. */
  readonly #known: { readonly itemLimit: number | null } | undefined;
  /** Null while the plain `stats` is read and its caller awaited. */
  #handshake: Handshake | null = null;
  /** The plain `stats` reply so far; null when none is asked or once it has ended. */
  #stats: Record<string, string> | null = null;
  /** Abandoned sockets were to be fenced. */
  #stale = false;

  /** `known`: an open socket handed to its connection's next job (its item limit is known). */
  constructor(socket: Socket, host: OpeningHost, known?: { readonly itemLimit: number | null }) {
    this.#socket = socket;
    this.#host = host;
    this.#known = known;
    if (host.carry.wantsStats) {
      this.#stats = {};
      socket.write(STATS);
      host.clock.arm('response', host.responseTimeoutMs);
    } else this.#shake(host.carry.stale);
  }

  #shake(stale: readonly (ConnIdentity | null)[]): void {
    const socket = this.#socket;
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#handshake = new Handshake(this.#host.label, local, stale, this.#host.responseTimeoutMs, this.#known);
    this.#stale = stale.length > 0;
    // A socket already open needs no new handshake: `stats conns` alone finds it and fences.
    socket.write(this.#known === undefined ? HANDSHAKE_REQUEST : STATS_CONNS);
    this.#host.clock.arm('response', this.#host.responseTimeoutMs);
  }

  /** The plain `stats`'s reply: gathered, then handed on; the handshake starts once that is done. */
  #statsReply(reply: Reply): void {
    const host = this.#host;
    const stats = this.#stats;
    if (stats !== null && reply.kind === 'STAT') {
      stats[reply.name] = reply.value;
      return;
    }
    const ended = reply.kind === 'END' || reply.kind === 'ERROR' || reply.kind === 'CLIENT_ERROR' || reply.kind === 'SERVER_ERROR';
    if (stats === null || !ended) throw new ProtocolError(`unexpected ${reply.kind} from ${host.label} in reply to stats`, { server: host.label });
    this.#stats = null;
    const socket = this.#socket;
    host.clock.stop(); // nothing is due from the node while Redis is read, as before it was connected to
    host.carry.told(reply.kind === 'END' ? stats : null).then(
      (stale) => host.current(socket) && this.#shake(stale),
      (err: Error) => host.current(socket) && host.fail(socket, err),
    );
  }

  /** The largest key + value the server stores; null while (or if) unknown. */
  get itemLimit(): number | null {
    return this.#handshake?.itemLimit ?? null;
  }
  /** The socket as the server lists it; null until (or unless) the list tells. */
  get self(): ConnIdentity | null {
    return this.#handshake?.self ?? null;
  }
  /** The socket was open before this opening (a new job on a kept connection), not a new one. */
  get reopened(): boolean {
    return this.#known !== undefined;
  }

  /** Every reply while opening comes here. Throws ProtocolError for a reply no handshake gets. */
  reply(reply: Reply): void {
    const host = this.#host;
    if (this.#handshake === null) return this.#statsReply(reply);
    const step: HandshakeStep | null = this.#handshake.reply(reply);
    if (step === null) throw new ProtocolError(`unexpected ${reply.kind} from ${host.label} in reply to stats`, { server: host.label });
    switch (step.kind) {
      case 'read':
        return;
      case 'ask':
        this.ask();
        return;
      case 'poll':
        host.clock.arm('fence', step.ms);
        return;
      case 'fail':
        host.fail(this.#socket, new FenceError(step.message, { server: host.label }));
        return;
      case 'ready':
        if (this.#stale) debug('%s fence passed: the abandoned connection is closed on the server', host.label);
        host.carry.fenced();
        this.#beforeWrites();
    }
  }

  /** `stats conns` again: our own entry was not told, or the fence polls. */
  ask(): void {
    if (this.#handshake === null) return; // the fence has not started: nothing to ask yet
    this.#handshake.asked();
    this.#socket.write(STATS_CONNS);
    this.#host.clock.arm('response', this.#host.responseTimeoutMs);
  }

  #beforeWrites(): void {
    const host = this.#host;
    const socket = this.#socket;
    const beforeWrites = host.carry.beforeWrites;
    if (beforeWrites === null) {
      host.ready();
      return;
    }
    beforeWrites(this.self).then(
      () => host.current(socket) && host.ready(),
      (err: Error) => host.current(socket) && host.fail(socket, err),
    );
  }
}
