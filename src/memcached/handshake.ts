/**
 * What a load connection learns before its first set, and the reconnect fence. Pure: no sockets.
 *
 * Every socket starts with `stats settings` and `stats conns`:
 * - `item_size_max` and `cas_enabled` give the largest item the server will store. A set over
 *   it is refused with `SERVER_ERROR object too large for cache`, and memcached then unlinks
 *   the key's older value ("avoid stale data persisting in cache"): a refused record would
 *   delete what an earlier file stored. So such records are taken out of a batch before it is
 *   written (see `dropOversize`) and counted as `too_large`, and the refusal stays a backstop.
 * - `stats conns` lists every connection memcached holds open, by fd and peer address. Our own
 *   entry (the one with our local address and port) is this socket's identity on the server.
 *
 * The fence: memcached applies one connection's commands in order, but two connections'
 * commands in any order. After a socket is abandoned with writes unacknowledged, its bytes may
 * still be in the kernel's buffers on either side, and could be applied after the resend on the
 * next socket, putting an older value back. The old socket is reset (RST, unsent bytes dropped),
 * and the next socket sends nothing until `stats conns` no longer lists the old identity:
 * memcached closes a connection only after it has processed everything it read from it, so from
 * then on nothing of the old socket can be applied. docs/protocol.md has the whole account.
 */
import type { Reply } from './response-parser.js';

/** One connection as `stats conns` lists it: `STAT <fd>:addr tcp:127.0.0.1:50124`. */
export interface ConnEntry {
  readonly fd: string;
  readonly addr: string;
  readonly state: string;
}

/** A socket as the server knows it: fd and peer address together (an fd alone is reused). */
export interface ConnIdentity {
  readonly fd: string;
  readonly addr: string;
  /** Whose it is when it is not this client's own (the cluster's takeover fence), for messages. */
  readonly owner?: string;
}

/** memcached's item header is 48 bytes, plus the key's NUL and the value's CRLF: 51, and 8 for a CAS value. */
const ITEM_OVERHEAD = 51;
const CAS_BYTES = 8;

/** Folds `STAT <fd>:<field> <value>` lines into entries; listener and UDP entries are left out. */
export function parseConnList(stats: readonly (readonly [string, string])[]): ConnEntry[] {
  const byFd = new Map<string, { addr?: string; state?: string; listen?: boolean }>();
  for (const [name, value] of stats) {
    const colon = name.indexOf(':');
    if (colon <= 0) continue;
    const fd = name.slice(0, colon);
    const field = name.slice(colon + 1);
    let e = byFd.get(fd);
    if (e === undefined) byFd.set(fd, (e = {}));
    if (field === 'addr') e.addr = value;
    else if (field === 'state') e.state = value;
    else if (field === 'listen_addr') e.listen = true;
  }
  const out: ConnEntry[] = [];
  for (const [fd, e] of byFd) {
    // A client connection has a listen_addr; the listening socket itself has none.
    if (e.addr !== undefined && e.listen === true) out.push({ fd, addr: e.addr, state: e.state ?? '' });
  }
  return out;
}

/** `tcp:127.0.0.1:50124` / `tcp6:[::1]:50124` → `127.0.0.1:50124` / `[::1]:50124`. */
function hostPort(addr: string): string {
  const colon = addr.indexOf(':');
  return colon === -1 ? addr : addr.slice(colon + 1);
}

/**
 * This socket's entry: the one whose peer address is our local address. Behind a proxy or NAT
 * the server sees another address; then the one connection busy with a command (ours, asking
 * for the list) is it, if it is alone in that state. Null when neither tells.
 */
export function findSelf(entries: readonly ConnEntry[], localAddress: string, localPort: number): ConnIdentity | null {
  const wanted = localAddress.includes(':') ? `[${localAddress}]:${localPort}` : `${localAddress}:${localPort}`;
  const mine = entries.filter((e) => hostPort(e.addr) === wanted);
  if (mine.length === 1) return identity(mine[0] as ConnEntry);
  const busy = entries.filter((e) => e.state === 'conn_parse_cmd');
  return busy.length === 1 ? identity(busy[0] as ConnEntry) : null;
}

function identity(e: ConnEntry): ConnIdentity {
  return { fd: e.fd, addr: e.addr };
}

/**
 * Identities from `stale` the server still holds open. One that is `self` is gone: reconnecting
 * from the old port, the new socket has the old one's address, and often its freed fd too, and
 * two open sockets cannot share a peer address and port.
 */
export function stillOpen(entries: readonly ConnEntry[], stale: readonly ConnIdentity[], self: ConnIdentity | null): ConnIdentity[] {
  const same = (a: ConnIdentity, b: ConnIdentity | null) => b !== null && a.fd === b.fd && a.addr === b.addr;
  return stale.filter((s) => !same(s, self) && entries.some((e) => same(s, e)));
}

/**
 * The largest key + value, in bytes, the server stores in one item; null when `stats settings`
 * did not say (a server that is not memcached): then only its refusal tells.
 */
export function maxKeyAndValue(settings: ReadonlyMap<string, string>): number | null {
  const max = Number(settings.get('item_size_max'));
  if (!Number.isSafeInteger(max) || max <= 0) return null;
  const cas = settings.get('cas_enabled') !== 'no';
  return max - ITEM_OVERHEAD - (cas ? CAS_BYTES : 0);
}

const CR = 0x0d;
const SP = 0x20;

/**
 * A batch without the records whose key + value exceed `limit`, and how many were taken out.
 * Frames are `ms <key> <len> <flags>\r\n<value>\r\n`, then `mn\r\n`. A batch shorter than the
 * limit cannot hold such a record and is returned as it is, without a scan: the common case.
 */
export function dropOversize(buf: Uint8Array, limit: number): { readonly buf: Uint8Array; readonly dropped: number } {
  if (buf.byteLength <= limit) return { buf, dropped: 0 };
  const keep: Uint8Array[] = [];
  let dropped = 0;
  let pos = 0;
  const end = buf.byteLength - 4; // the closing `mn\r\n`
  while (pos < end) {
    const keyStart = pos + 3; // after `ms `
    const keyEnd = buf.indexOf(SP, keyStart);
    const lineEnd = buf.indexOf(CR, keyEnd);
    if (keyEnd === -1 || lineEnd === -1) throw new Error('dropOversize: not a batch of ms frames');
    let len = 0;
    for (let i = keyEnd + 1; i < lineEnd && buf[i] !== SP; i++) len = len * 10 + ((buf[i] as number) - 0x30);
    const frameEnd = lineEnd + 2 + len + 2;
    if (keyEnd - keyStart + len > limit) dropped++;
    else keep.push(buf.subarray(pos, frameEnd));
    pos = frameEnd;
  }
  if (dropped === 0) return { buf, dropped };
  keep.push(buf.subarray(end));
  return { buf: Buffer.concat(keep), dropped };
}

/** The socket's first words: what the server stores at most, and who it holds open. */
export const HANDSHAKE_REQUEST = Buffer.from('stats settings\r\nstats conns\r\n', 'latin1');
export const STATS_CONNS = Buffer.from('stats conns\r\n', 'latin1');
/** Asking again for our own entry when the list did not tell it (several busy connections). */
const SELF_TRIES = 3;
/** The fence asks again after this, doubling up to FENCE_POLL_MAX_MS, until its time runs out. */
const FENCE_POLL_MS = 10;
const FENCE_POLL_MAX_MS = 200;

/** What the connection does next: read on, ask `stats conns` now or after `ms`, start sending, or give up. */
export type HandshakeStep =
  | { readonly kind: 'read' }
  | { readonly kind: 'ask' }
  | { readonly kind: 'poll'; readonly ms: number }
  | { readonly kind: 'ready' }
  | { readonly kind: 'fail'; readonly message: string };

const READ: HandshakeStep = Object.freeze({ kind: 'read' });
const ASK: HandshakeStep = Object.freeze({ kind: 'ask' });
const READY: HandshakeStep = Object.freeze({ kind: 'ready' });

/**
 * One socket's handshake as a state machine over its replies: it learns the item limit and the
 * socket's identity, then holds the socket until none of `stale` (abandoned sockets whose writes
 * were unacknowledged; null where the server never said which was ours) is listed, or until
 * `timeoutMs` has passed.
 */
export class Handshake {
  readonly #server: string;
  readonly #local: { readonly address: string; readonly port: number };
  readonly #stale: readonly (ConnIdentity | null)[];
  readonly #timeoutMs: number;
  readonly #deadline: number;
  /** `stats` groups asked for and not yet ended, in order. */
  readonly #pending: ('settings' | 'conns')[] = ['settings', 'conns'];
  #stats: [string, string][] = [];
  #tries = 0;
  #pollMs = FENCE_POLL_MS;
  /** The largest key + value the server stores; null while unknown. */
  itemLimit: number | null = null;
  /** This socket as the server lists it; null until (or unless) the list tells. */
  self: ConnIdentity | null = null;

  /** `known`: a socket handed to its connection's next job already knows its item limit; only `stats conns` is asked. */
  constructor(server: string, local: { address: string; port: number }, stale: readonly (ConnIdentity | null)[], timeoutMs: number, known?: { readonly itemLimit: number | null }) {
    this.#server = server;
    this.#local = local;
    this.#stale = stale;
    this.#timeoutMs = timeoutMs;
    this.#deadline = performance.now() + timeoutMs;
    if (known !== undefined) {
      this.#pending.shift();
      this.itemLimit = known.itemLimit;
    }
  }

  /** `stats conns` was sent again. */
  asked(): void {
    this.#pending.push('conns');
  }

  /** Every reply during the handshake comes here; null means it is not one a handshake can get. */
  reply(reply: Reply): HandshakeStep | null {
    if (reply.kind === 'STAT') {
      this.#stats.push([reply.name, reply.value]);
      return READ;
    }
    if (reply.kind !== 'END' && reply.kind !== 'ERROR' && reply.kind !== 'CLIENT_ERROR' && reply.kind !== 'SERVER_ERROR') return null;
    // A server that does not know a group (not memcached) answers an error: then we know less.
    const known = reply.kind === 'END';
    const group = this.#pending.shift();
    const stats = this.#stats;
    this.#stats = [];
    if (group === 'settings') {
      this.itemLimit = known ? maxKeyAndValue(new Map(stats)) : null;
      return READ;
    }
    if (group === 'conns') return this.#connList(known ? parseConnList(stats) : null);
    return null;
  }

  #connList(entries: ConnEntry[] | null): HandshakeStep {
    if (this.self === null && entries !== null) {
      this.self = findSelf(entries, this.#local.address, this.#local.port);
      if (this.self === null && ++this.#tries < SELF_TRIES) return ASK;
    }
    if (this.#stale.length === 0) return READY;
    if (entries === null || this.#stale.includes(null)) {
      const why = entries === null ? 'it does not answer `stats conns`' : 'it did not list that connection by address (a proxy or NAT in between?)';
      return {
        kind: 'fail',
        message: `cannot confirm that the abandoned connection to ${this.#server} is closed: ${why}; its unacknowledged writes could still be applied after a resend`,
      };
    }
    const open = stillOpen(entries, this.#stale as ConnIdentity[], this.self);
    if (open.length === 0) return READY;
    if (performance.now() >= this.#deadline) {
      const o = open[0] as ConnIdentity;
      const whose = o.owner === undefined ? 'the abandoned connection' : `the connection of ${o.owner},`;
      return {
        kind: 'fail',
        message:
          `memcached ${this.#server} still holds ${whose} ${o.addr} (fd ${o.fd}) open after ${this.#timeoutMs} ms: ` +
          `its unacknowledged writes could still be applied after ${o.owner === undefined ? 'a resend, so nothing is resent' : 'ours, so nothing is written'}`,
      };
    }
    const ms = this.#pollMs;
    this.#pollMs = Math.min(ms * 2, FENCE_POLL_MAX_MS);
    return { kind: 'poll', ms };
  }
}
