/**
 * A TCP forwarder for fault tests: clients connect to 127.0.0.1:<port> and are piped to the
 * target. `cutAll()` kills every live pair at once (both sockets destroyed, like a dropped
 * link); `stop()` also closes the listener (connects are refused); `start()` listens again on
 * the same port, so a client can reconnect to the same address.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ServerAddress } from '../../src/config/servers.js';
import { listen, listenOutsideEphemeral } from './ports.js';

export interface ForwarderCounters {
  /** Client connections accepted. */
  accepted: number;
  /** Pairs destroyed by cutAll() or stop(). */
  cut: number;
  /** Bytes client → target. */
  bytesUp: number;
  /** Bytes target → client. */
  bytesDown: number;
}

export class TcpForwarder {
  readonly #target: { host: string; port: number };
  #server: Server | null = null;
  #port = 0;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly counters: ForwarderCounters = { accepted: 0, cut: 0, bytesUp: 0, bytesDown: 0 };
  /** Called with the running client → target byte count on every upstream chunk. */
  onUpstream: ((bytesUp: number) => void) | null = null;

  constructor(target: { host: string; port: number }) {
    this.#target = { host: target.host, port: target.port };
  }

  /** Listens (a free port outside the ephemeral range the first time, the same port afterwards). */
  async start(): Promise<void> {
    if (this.#server !== null) return;
    const server = createServer((client) => this.#accept(client));
    if (this.#port === 0) this.#port = await listenOutsideEphemeral(server);
    else await listen(server, this.#port);
    this.#server = server;
  }

  get port(): number {
    return this.#port;
  }

  get address(): ServerAddress {
    return { host: '127.0.0.1', port: this.#port, label: `127.0.0.1:${this.#port}` };
  }

  /** Live client/target pairs. */
  get live(): number {
    return this.#pairs.size;
  }

  /** Destroys every live pair now; returns how many. The listener keeps accepting. */
  cutAll(): number {
    const n = this.#pairs.size;
    for (const pair of this.#pairs) this.#drop(pair, true);
    return n;
  }

  /** Cuts every pair and stops listening until start(). */
  async stop(): Promise<void> {
    this.cutAll();
    const server = this.#server;
    this.#server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.counters.accepted++;
    const upstream = connect({ host: this.#target.host, port: this.#target.port });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      this.counters.bytesUp += chunk.length;
      if (!upstream.write(chunk)) client.pause();
      this.onUpstream?.(this.counters.bytesUp);
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      this.counters.bytesDown += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    const end = () => this.#drop(pair, false);
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  #drop(pair: [Socket, Socket], cut: boolean): void {
    if (!this.#pairs.delete(pair)) return;
    if (cut) this.counters.cut++;
    for (const s of pair) s.destroy();
  }
}
