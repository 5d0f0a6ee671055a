/**
 * A socket's opening, between TCP connect and its first set: it writes the handshake's `stats`
 * requests, feeds their replies to Handshake (handshake.ts: the item limit, the socket's identity,
 * the reconnect fence), asks again when told to, and then awaits the caller's beforeWrites (the
 * cluster records the socket's identity in Redis there, docs/protocol.md "The takeover fence").
 * The connection keeps the socket, the timer and the failure path; this keeps the order.
 */
import type { Socket } from 'node:net';
import { FenceError, ProtocolError } from '../errors.js';
import { debug } from './conn-socket.js';
import { Handshake, HANDSHAKE_REQUEST, STATS_CONNS, type ConnIdentity, type HandshakeStep } from './handshake.js';
import type { Reply } from './response-parser.js';

/** What the opening asks of its connection. */
export interface OpeningHost {
  readonly label: string;
  readonly responseTimeoutMs: number;
  readonly beforeWrites: ((self: ConnIdentity | null) => Promise<void>) | null;
  /** Arms the connection's one timer: a reply is due, or the fence's next poll. */
  arm(job: 'response' | 'fence', ms: number): void;
  /** The fence passed: the abandoned sockets are closed on the server. */
  fenced(): void;
  /** Still this connection's socket, still opening? (A late beforeWrites must not revive a dead one.) */
  current(socket: Socket): boolean;
  /** Fails the socket: the connection's one failure path. */
  fail(socket: Socket, err: Error): void;
  /** Sets may go: the handshake answered, the fence passed, beforeWrites resolved. */
  ready(): void;
}

export class Opening {
  readonly #socket: Socket;
  readonly #host: OpeningHost;
  readonly #handshake: Handshake;
  /** Abandoned sockets were to be fenced. */
  readonly #stale: boolean;

  constructor(socket: Socket, host: OpeningHost, stale: readonly (ConnIdentity | null)[]) {
    this.#socket = socket;
    this.#host = host;
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#handshake = new Handshake(host.label, local, stale, host.responseTimeoutMs);
    this.#stale = stale.length > 0;
    socket.write(HANDSHAKE_REQUEST);
    host.arm('response', host.responseTimeoutMs);
  }

  /** The largest key + value the server stores; null while (or if) unknown. */
  get itemLimit(): number | null {
    return this.#handshake.itemLimit;
  }
  /** The socket as the server lists it; null until (or unless) the list tells. */
  get self(): ConnIdentity | null {
    return this.#handshake.self;
  }

  /** Every reply while opening comes here. Throws ProtocolError for a reply no handshake gets. */
  reply(reply: Reply): void {
    const host = this.#host;
    const step: HandshakeStep | null = this.#handshake.reply(reply);
    if (step === null) throw new ProtocolError(`unexpected ${reply.kind} from ${host.label} in reply to stats`, { server: host.label });
    switch (step.kind) {
      case 'read':
        return;
      case 'ask':
        this.ask();
        return;
      case 'poll':
        host.arm('fence', step.ms);
        return;
      case 'fail':
        host.fail(this.#socket, new FenceError(step.message, { server: host.label }));
        return;
      case 'ready':
        if (this.#stale) debug('%s fence passed: the abandoned connection is closed on the server', host.label);
        host.fenced();
        this.#beforeWrites();
    }
  }

  /** `stats conns` again: our own entry was not told, or the fence polls. */
  ask(): void {
    this.#handshake.asked();
    this.#socket.write(STATS_CONNS);
    this.#host.arm('response', this.#host.responseTimeoutMs);
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
