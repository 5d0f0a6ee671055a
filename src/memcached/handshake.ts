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
