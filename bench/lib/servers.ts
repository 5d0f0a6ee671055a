/**
 * The four memcached servers of a benchmark run (`-t 1`, one per device type, memory for
 * everything), and the plain streaming path used by the floor and for warming.
 *
 * Before every timed configuration the servers are restarted (fresh processes, empty caches)
 * and warmed: every record of the main data set is streamed in as quiet meta sets, then every
 * key is deleted again with quiet `md`. That leaves each server as a long-running one would
 * be — slab pages allocated and touched, the hash table grown, the process past its first
 * connection — while holding no item, so the store counters after the timed run
 * (curr_items, total_items, cmd_set) can be checked exactly. (flush_all would leave the
 * flushed items counted in curr_items until memcached reclaims them lazily.)
 */
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { stats } from '../../src/memcached/admin.js';
import { startServers, stopAll, type MemcachedHandle } from '../../test/helpers/memcached.js';
import { cpuTicks, threadCpuTicks } from './proc.js';

export interface Counters {
  readonly curr_items: number;
  readonly total_items: number;
  readonly cmd_set: number;
  readonly evictions: number;
  readonly bytes: number;
}

const COUNTERS = ['curr_items', 'total_items', 'cmd_set', 'evictions', 'bytes'] as const;

export class Servers {
  /** Every server; with pools, each type's nodes in a row (idfa's, then gaid's, …). */
  readonly handles: readonly MemcachedHandle[];
  readonly memoryMb: number;
  /** Servers per device type: 1, or the nodes of each type's pool. */
  readonly nodesPerType: number;

  private constructor(handles: MemcachedHandle[], memoryMb: number, nodesPerType: number) {
    this.handles = handles;
    this.memoryMb = memoryMb;
    this.nodesPerType = nodesPerType;
  }

  static async start(memoryMb: number, nodesPerType = 1): Promise<Servers> {
    const handles = await startServers(DEVICE_TYPES.length * nodesPerType, { threads: 1, memoryMb });
    return new Servers(handles, memoryMb, nodesPerType);
  }

  /** Per device type (DEVICE_TYPES order), its server or the nodes of its pool. */
  pools(): MemcachedHandle[][] {
    return DEVICE_TYPES.map((_, i) => this.handles.slice(i * this.nodesPerType, (i + 1) * this.nodesPerType));
  }

  /** --idfa host:port[,host:port…] … for the loader's command line, in DEVICE_TYPES order. */
  cliArgs(): string[] {
    return DEVICE_TYPES.flatMap((t, i) => [`--${t}`, (this.pools()[i] as MemcachedHandle[]).map((h) => h.address.label).join(',')]);
  }

  /** Fresh processes on the same ports. */
  async restart(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.restart()));
  }

  /** utime+stime of all four servers, clock ticks. */
  cpuTicks(): number {
    return this.handles.reduce((a, h) => a + cpuTicks(h.pid), 0);
  }

  /**
   * The part of cpuTicks() spent by memcached's LRU maintainer threads (`mc-lrumaint`): a
   * background thread that moves items between its LRU segments while sets arrive, so its CPU
   * grows with the length of a run as much as with the records.
   */
  lruMaintainerTicks(): number {
    return this.handles.reduce((a, h) => a + threadCpuTicks(h.pid, 'mc-lrumaint'), 0);
  }

  async counters(): Promise<Counters> {
    const all = await Promise.all(this.handles.map((h) => stats(h.address)));
    const out: Record<string, number> = {};
    for (const name of COUNTERS) out[name] = all.reduce((a, s) => a + Number(s[name] ?? NaN), 0);
    return out as unknown as Counters;
  }

  /** Per server counters (for the JSON report, to see the split by device type). */
  async perServer(): Promise<Record<string, Counters>> {
    const all = await Promise.all(this.handles.map((h) => stats(h.address)));
    return Object.fromEntries(
      DEVICE_TYPES.map((t, i) => [t, Object.fromEntries(COUNTERS.map((n) => [n, Number(all[i]?.[n] ?? NaN)])) as unknown as Counters]),
    );
  }

  async stop(): Promise<void> {
    await stopAll();
  }
}

/** Loads the cached frame files (one per server, DEVICE_TYPES order) into memory. */
export function loadFrames(paths: readonly string[]): Promise<Buffer[]> {
  return Promise.all(paths.map((p) => readFile(p)));
}

export interface StreamResult {
  /** From the first byte written to the last server's `MN`, ms. */
  readonly wallMs: number;
  /** Any reply other than the closing MN (quiet mode answers only errors). */
  readonly errors: readonly string[];
}

/**
 * Streams `frames[i]` to server i (handles order: with pools, one buffer per node), one connection each, then `mn\r\n`; resolves when every
 * server has answered MN. Connections are opened before the clock starts.
 */
export async function streamAll(servers: Servers, frames: readonly Buffer[]): Promise<StreamResult> {
  const conns = await Promise.all(servers.handles.map((h) => open(h.address.host, h.address.port)));
  try {
    const t0 = performance.now();
    const results = await Promise.all(conns.map((c, i) => c.send(frames[i] as Buffer)));
    const wallMs = performance.now() - t0;
    return { wallMs, errors: results.flat() };
  } finally {
    for (const c of conns) c.close();
  }
}

interface Conn {
  /** Writes `data` then `mn`; resolves with the non-MN replies once MN arrives. */
  send(data: Buffer): Promise<string[]>;
  close(): void;
}

const MN = Buffer.from('mn\r\n');

function open(host: string, port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        send(data) {
          return new Promise<string[]>((done, fail) => {
            let text = '';
            const errors: string[] = [];
            const onData = (chunk: Buffer): void => {
              text += chunk.toString('latin1');
              let nl: number;
              while ((nl = text.indexOf('\r\n')) >= 0) {
                const line = text.slice(0, nl);
                text = text.slice(nl + 2);
                if (line === 'MN') {
                  cleanup();
                  done(errors);
                  return;
                }
                if (errors.length < 1000) errors.push(line);
              }
            };
            const onError = (err: Error): void => {
              cleanup();
              fail(err);
            };
            const onClose = (): void => {
              cleanup();
              fail(new Error(`${host}:${port} closed before MN`));
            };
            const cleanup = (): void => {
              socket.off('data', onData);
              socket.off('error', onError);
              socket.off('close', onClose);
            };
            socket.on('data', onData);
            socket.on('error', onError);
            socket.on('close', onClose);
            socket.cork();
            socket.write(data);
            socket.write(MN);
            socket.uncork();
          });
        },
        close() {
          socket.destroy();
        },
      });
    });
  });
}

/**
 * Warms fresh servers: streams every record in (`ms`), then deletes every key (`md`), and
 * checks nothing is left. Returns the seconds it took.
 */
export async function warm(servers: Servers, ms: readonly Buffer[], md: readonly Buffer[]): Promise<number> {
  const t0 = performance.now();
  const load = await streamAll(servers, ms);
  const del = await streamAll(servers, md);
  const errors = [...load.errors, ...del.errors];
  if (errors.length > 0) throw new Error(`warming the servers failed: ${errors.slice(0, 3).join(' | ')}`);
  const c = await servers.counters();
  if (c.curr_items !== 0) throw new Error(`warming left ${c.curr_items} items in the servers`);
  return (performance.now() - t0) / 1000;
}
