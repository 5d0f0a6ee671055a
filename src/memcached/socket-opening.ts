/**
 * A socket's opening, between TCP connect and its first set: first, while its connection still
 * wants one (`onStats`), a plain `stats` whose reply the caller is awaited on (the cluster's
 * apply takes its eviction and restart baseline and the node's identity from it, and reads from
 * Redis which earlier holders' sockets to fence: they join the stale ones before the fence is
 * judged, on a `stats conns` asked only after that); then the handshake's `stats` requests, their
 * replies fed to Handshake (handshake.ts: the item limit, the socket's identity, the reconnect
 * fence), asks again when told to, and then awaits the caller's beforeWrites (the cluster
 * records the socket's identity in Redis there, docs/protocol.md "The takeover fence").
 * The connection keeps the socket, the timer and the failure path; this keeps the order.
 */
import type { Socket } from 'node:net';
import { FenceError, ProtocolError } from '../errors.js';
import type { ConnClock } from './conn-clock.js';
import { debug, type Rebind } from './conn-socket.js';
import { Handshake, HANDSHAKE_REQUEST, STATS_CONNS, type ConnIdentity, type HandshakeStep } from './handshake.js';
import type { Reply } from './response-parser.js';

const STATS = Buffer.from('stats\r\n', 'latin1');

/** What the opening asks of its connection. */
export interface OpeningHost {
  readonly label: string;
  readonly responseTimeoutMs: number;
  readonly beforeWrites: ((self: ConnIdentity | null) => Promise<void>) | null;
  /** What the connection's sockets carry from one to the next. */
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

/** What a connection's next socket must wait out, where it rebinds, and whether it asks `stats` first. */
export class Carried {
  /** Abandoned sockets whose writes were unacknowledged: null where the server never told who they were. */
  stale: (ConnIdentity | null)[];
  /** Where the last socket we reset with writes in flight was bound (conn-socket.ts). */
  rebind: Rebind = null;
  readonly #onStats: OnStats;
  /** The `onStats` caller has its reply (or there is none to give). */
  #told: boolean;

  constructor(fenceFirst: readonly (ConnIdentity | null)[], onStats: OnStats) {
    this.stale = [...fenceFirst];
    this.#onStats = onStats;
    this.#told = onStats === null;
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
  /** Null while the plain `stats` is read and its caller awaited. */
  #handshake: Handshake | null = null;
  /** The plain `stats` reply so far; null when none is asked or once it has ended. */
  #stats: Record<string, string> | null = null;
  /** Abandoned sockets were to be fenced. */
  #stale = false;

  constructor(socket: Socket, host: OpeningHost) {
    this.#socket = socket;
    this.#host = host;
    if (host.carry.wantsStats) {
      this.#stats = {};
      socket.write(STATS);
      host.clock.arm('response', host.responseTimeoutMs);
    } else this.#shake(host.carry.stale);
  }

  #shake(stale: readonly (ConnIdentity | null)[]): void {
    const socket = this.#socket;
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#handshake = new Handshake(this.#host.label, local, stale, this.#host.responseTimeoutMs);
    this.#stale = stale.length > 0;
    socket.write(HANDSHAKE_REQUEST);
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
    if (host.beforeWrites === null) {
      host.ready();
      return;
    }
    host.beforeWrites(this.self).then(
      () => host.current(socket) && host.ready(),
      (err: Error) => host.current(socket) && host.fail(socket, err),
    );
  }
}
