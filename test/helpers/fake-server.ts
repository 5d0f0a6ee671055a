/**
 * A scriptable stand-in for memcached on 127.0.0.1:0, for connection unit tests. It parses the
 * requests a loader sends (`ms <key> <len> <flags>*` + data block, `mn`, anything else as a
 * line) and hands each to a script, which decides what to answer: `defaultReply` behaves like
 * memcached (quiet sets say nothing, `mn` answers `MN`); a script may also stall (answer
 * nothing), write half a line, answer SERVER_ERROR, or close in the middle of a batch.
 *
 * Like memcached, it answers `stats settings` and `stats conns` itself (the connection's
 * handshake and reconnect fence): they never reach the script or `commands`. `stats conns`
 * lists every connection still open with its peer address, as memcached does.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerAddress } from '../../src/config/servers.js';
import { listenOutsideEphemeral } from './ports.js';

export type FakeCommand =
  | { readonly name: 'ms'; readonly key: string; readonly flags: readonly string[]; readonly data: Buffer }
  | { readonly name: 'mn' }
  | { readonly name: 'other'; readonly line: string };

export type Script = (cmd: FakeCommand, conn: FakeConnection) => void;

/** What memcached would answer. */
export function defaultReply(cmd: FakeCommand, conn: FakeConnection): void {
  if (cmd.name === 'mn') conn.write('MN\r\n');
  else if (cmd.name === 'ms') {
    if (!cmd.flags.includes('q')) conn.write('HD\r\n');
  } else conn.write('ERROR\r\n');
}

export class FakeConnection {
  /** 0 for the first connection the server accepted, 1 for the next, … */
  readonly index: number;
  readonly socket: Socket;
  readonly commands: FakeCommand[] = [];
  /** The client's address as memcached lists it (`tcp:127.0.0.1:50124`), kept after the close. */
  readonly peer: string;
  /** The client dropped the connection with an RST (ECONNRESET), not a FIN. */
  reset = false;
  /** `stats settings` and `stats conns` asked here, which the server answers itself. */
  readonly asked = { settings: 0, conns: 0 };
  #pending: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(index: number, socket: Socket) {
    this.index = index;
    this.socket = socket;
    this.peer = `tcp:${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') this.reset = true;
    });
    socket.on('close', () => (this.#closed = true));
  }

  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /** Keys of the `ms` commands received, in order. */
  get keys(): string[] {
    return this.commands.flatMap((c) => (c.name === 'ms' ? [c.key] : []));
  }

  write(data: string | Uint8Array): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Graceful close (FIN) after what was written. */
  close(): void {
    if (!this.closed) this.socket.end();
  }

  /** Abrupt close; nothing more is read or parsed. */
  destroy(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  /** Parses whole commands out of what arrived; yields them one by one (stops once closed). */
  *take(chunk: Buffer): Generator<FakeCommand> {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      if (this.closed) return;
      const eol = this.#pending.indexOf('\r\n');
      if (eol === -1) return;
      const line = this.#pending.toString('latin1', 0, eol);
      const words = line.split(' ');
      if (words[0] === 'ms' && words.length >= 3) {
        const len = Number(words[2]);
        const need = eol + 2 + len + 2;
        if (this.#pending.length < need) return;
        const data = Buffer.from(this.#pending.subarray(eol + 2, eol + 2 + len));
        this.#pending = this.#pending.subarray(need);
        yield { name: 'ms', key: words[1] as string, flags: words.slice(3), data };
      } else {
        this.#pending = this.#pending.subarray(eol + 2);
        yield line === 'mn' ? { name: 'mn' } : { name: 'other', line };
      }
    }
  }
}

export class FakeServer {
  readonly #server: Server;
  readonly connections: FakeConnection[] = [];
  script: Script;

  private constructor(server: Server, script: Script) {
    this.#server = server;
    this.script = script;
  }

  static async start(script: Script = defaultReply): Promise<FakeServer> {
    const server = createServer();
    const fake = new FakeServer(server, script);
    server.on('connection', (socket) => fake.#accept(socket));
    await listenOutsideEphemeral(server);
    return fake;
  }

  get port(): number {
    const addr = this.#server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  get address(): ServerAddress {
    return { host: '127.0.0.1', port: this.port, label: `127.0.0.1:${this.port}` };
  }

  /** Every command received, over all connections, in arrival order per connection. */
  get commands(): FakeCommand[] {
    return this.connections.flatMap((c) => c.commands);
  }

  /** Polls `predicate` until true, or fails after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`fake server: timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  /** Destroys every connection and closes the listener. */
  async stop(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Largest item, as `stats settings` says; the loader keeps key + value under it minus 59. */
  itemSizeMax = 1024 * 1024;
  /** Lists closed connections too, as a server still holding one it has not been told is gone. */
  listClosed = false;

  #accept(socket: Socket): void {
    const conn = new FakeConnection(this.connections.length, socket);
    this.connections.push(conn);
    socket.on('data', (chunk: Buffer) => {
      for (const cmd of conn.take(chunk)) {
        if (cmd.name === 'other' && cmd.line === 'stats settings') {
          conn.asked.settings++;
          conn.write(`STAT item_size_max ${this.itemSizeMax}\r\nSTAT cas_enabled yes\r\nEND\r\n`);
        } else if (cmd.name === 'other' && cmd.line === 'stats conns') {
          conn.asked.conns++;
          conn.write(this.#connList(conn));
        }
        else {
          conn.commands.push(cmd);
          this.script(cmd, conn);
        }
      }
    });
  }

  #connList(asking: FakeConnection): string {
    let out = '';
    for (const c of this.connections) {
      if (c.closed && !this.listClosed) continue;
      const fd = 100 + c.index;
      out += `STAT ${fd}:addr ${c.peer}\r\n`;
      out += `STAT ${fd}:listen_addr tcp:127.0.0.1:${this.port}\r\n`;
      out += `STAT ${fd}:state ${c === asking ? 'conn_parse_cmd' : 'conn_read'}\r\n`;
    }
    return `${out}END\r\n`;
  }
}
