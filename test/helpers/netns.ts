/**
 * Hosts on one machine, for fault tests that need a real network between processes: one network
 * namespace per host, joined by veth pairs to a bridge in a namespace of its own, so that cutting
 * one host's link (tc on both ends of its veth) is a real partition: what that host sent arrives
 * late (its kernel retransmits it after the heal) or never (it reset the socket, or died).
 *
 *   198.18.N.0/24 or 198.19.N.0/24 (RFC 2544's benchmarking range, one /24 per run)
 *     .1   servers    memcached, redis-server
 *     .2   the test   the root namespace's own veth: enqueue, status, reading values back
 *     .10+ host i    worker processes
 *
 * Names carry the pid and a letter per lab (`mcl<pid>a-h0`…): several runs share this machine.
 * Everything made here is removed by `destroy()`, by the exit hook and on SIGINT/SIGTERM, even
 * when a test fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface NetHost {
  /** The namespace's name, for `ip netns exec`. */
  readonly ns: string;
  readonly address: string;
  /** The command that runs `argv` inside this host: ['ip', 'netns', 'exec', ns, ...argv]. */
  wrap(argv: readonly string[]): string[];
}

export interface Cut {
  /** The probe from the host to the servers timed out (true), or got through (false). */
  readonly verified: boolean;
  /** Attempts made before the probe saw the link cut. */
  readonly attempts: number;
}

export interface Lab {
  readonly servers: NetHost;
  /** The test process's own address on the lab's network. */
  readonly rootAddress: string;
  readonly hosts: readonly NetHost[];
  /** Cuts `host`'s link and proves it with a probe to `probePort` on the servers (retried: see `Cut`). */
  cut(host: NetHost, probePort: number): Promise<Cut>;
  /** Takes the cut away: the host's kernel then retransmits what the servers never acknowledged. */
  heal(host: NetHost): void;
  /** Limits what `host` sends to `mbit` Mbit/s (tbf): a host further away, whose writes take a while. */
  shape(host: NetHost, mbit: number): void;
  destroy(): void;
}

/** Why namespaces cannot be made here, or false; under CI a missing tool is a failure, not a skip. */
export function netnsMissing(): string | false {
  if (process.env['CI']) return false;
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  for (const tool of ['ip', 'tc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      return `needs ${tool} (apt-get install -y iproute2)`;
    }
  }
  return false;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

const labs = new Set<Lab>();
process.on('exit', () => {
  for (const lab of labs) lab.destroy();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const lab of labs) lab.destroy();
    process.kill(process.pid, signal);
  });
}

/** A /24 of 198.18.0.0/15 that no interface of the root namespace is on (another run's lab). */
function freeSubnet(): string {
  const used = ip('-4', '-o', 'addr', 'show').toString();
  for (let i = 0; i < 512; i++) {
    const n = (process.pid + i) % 512;
    const prefix = `198.${18 + (n >> 8)}.${n & 255}`;
    if (!used.includes(` ${prefix}.`)) return prefix;
  }
  throw new Error('every /24 of 198.18.0.0/15 is in use by other labs on this machine: remove stale mcl* links (ip -o link | grep mcl)');
}

let labCount = 0;

export function makeLab(hostCount: number): Lab {
  // Short: interface names have 15 bytes at most (`<tag>r`).
  const tag = `mcl${process.pid}${String.fromCharCode(97 + (labCount++ % 26))}`;
  const subnet = freeSubnet();
  const namespaces: string[] = [];
  let rootLink: string | null = null;
  const destroy = () => {
    labs.delete(lab);
    // Deleting a namespace deletes its veth ends, and with them their peers.
    if (rootLink !== null) tryRun(() => ip('link', 'del', rootLink as string));
    for (const ns of namespaces.splice(0).reverse()) tryRun(() => ip('netns', 'del', ns));
    rootLink = null;
  };
  const host = (name: string, address: string): NetHost => {
    const ns = `${tag}-${name}`;
    return { ns, address, wrap: (argv) => ['ip', 'netns', 'exec', ns, ...argv] };
  };
  const servers = host('srv', `${subnet}.1`);
  const hosts = Array.from({ length: hostCount }, (_, i) => host(`h${i}`, `${subnet}.${10 + i}`));
  const bridge = `${tag}-br`;
  const lab: Lab = {
    servers,
    rootAddress: `${subnet}.2`,
    hosts,
    cut: (h, port) => cut(bridge, h, hosts.indexOf(h), servers.address, port),
    heal: (h) => {
      const i = hosts.indexOf(h);
      tryRun(() => ip('netns', 'exec', h.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root'));
      tryRun(() => ip('netns', 'exec', bridge, 'tc', 'qdisc', 'del', 'dev', `p${10 + i}`, 'root'));
    },
    shape: (h, mbit) =>
      ip('netns', 'exec', h.ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '200ms'),
    destroy,
  };
  labs.add(lab);
  try {
    // One `ip -batch` per namespace instead of an `ip` per step: ~6 processes a lab, not ~30,
    // which took 1.4 s of a loaded machine per lab (each step a process start).
    const all = [bridge, servers.ns, ...hosts.map((h) => h.ns)];
    namespaces.push(...all);
    batch(null, all.map((ns) => `netns add ${ns}`));
    // Each host's end is eth0 in its namespace; the bridge's end is p<last octet>.
    const ports = [servers, ...hosts].map((h, i) => ({ h, port: `p${i === 0 ? 1 : 9 + i}` }));
    rootLink = `${tag}r`;
    batch(null, [
      ...ports.map(({ h, port }) => `link add eth0 netns ${h.ns} type veth peer name ${port} netns ${bridge}`),
      `link add ${rootLink} type veth peer name p2 netns ${bridge}`,
      `addr add ${lab.rootAddress}/24 dev ${rootLink}`,
      `link set ${rootLink} up`,
    ]);
    batch(bridge, [
      'link set lo up',
      'link add br0 type bridge',
      'link set br0 up',
      ...[...ports.map(({ port }) => port), 'p2'].flatMap((port) => [`link set ${port} master br0`, `link set ${port} up`]),
    ]);
    for (const h of [servers, ...hosts]) batch(h.ns, ['link set lo up', `addr add ${h.address}/24 dev eth0`, 'link set eth0 up']);
  } catch (err) {
    destroy();
    throw new Error(`could not make the test network (${subnet}.0/24, namespaces ${tag}-*): is this root with iproute2?`, { cause: err });
  }
  return lab;
}

/** Runs `commands` with one `ip -batch` (in namespace `ns`, or the root one): it stops at the first error, and throws. */
function batch(ns: string | null, commands: readonly string[]): void {
  execFileSync('ip', [...(ns === null ? [] : ['-n', ns]), '-batch', '-'], { input: `${commands.join('\n')}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
}

function tryRun(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // already gone
  }
}

/**
 * Both ends of the host's veth drop every packet (`pfifo limit 0`: netem is not in every kernel,
 * this one's included), so neither direction passes. What the host had sent and the servers had
 * not acknowledged stays in its kernel and is retransmitted after the heal: it arrives late,
 * unless the process reset the socket meanwhile. The probe (a TCP connect from inside the host
 * to the servers) must time out; if it got through, the cut is made again, a bounded number of
 * times, and the caller is told it never held.
 */
async function cut(bridge: string, h: NetHost, index: number, to: string, port: number): Promise<Cut> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    for (const [ns, dev] of [
      [h.ns, 'eth0'],
      [bridge, `p${10 + index}`],
    ] as const) {
      ip('netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'pfifo', 'limit', '0');
    }
    if (await probeTimesOut(h, to, port, 400)) return { verified: true, attempts: attempt };
    await sleep(50);
  }
  return { verified: false, attempts: 3 };
}

/** Whether a TCP connect from inside `h` to `address:port` times out (a refusal is not a cut). */
export function probeTimesOut(h: NetHost, address: string, port: number, ms: number): Promise<boolean> {
  const script = `exec 3<>/dev/tcp/${address}/${port}`;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', h.ns, 'timeout', `${ms / 1000}`, 'bash', '-c', script], (err) => {
      resolve(err !== null && (err as { code?: unknown }).code === 124);
    });
  });
}
