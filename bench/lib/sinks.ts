/**
 * The parent side of null-sink.ts: starts the null servers in a child process, gives their
 * addresses in the loader's flags, measures the child's CPU, and reads what each one received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { stats } from '../../src/memcached/admin.js';
import { cpuTicks } from './proc.js';

const SCRIPT = fileURLToPath(new URL('./null-sink.js', import.meta.url));

export interface SinkTotals {
  /** Bytes each sink received on its data connections, in DEVICE_TYPES order. */
  readonly bytes: readonly number[];
  /** `mn` fences each sink answered. */
  readonly fences: readonly number[];
}

export class NullSinks {
  readonly #child: ChildProcess;
  readonly ports: readonly number[];

  private constructor(child: ChildProcess, ports: number[]) {
    this.#child = child;
    this.ports = ports;
  }

  static start(): Promise<NullSinks> {
    const child = spawn(process.execPath, [SCRIPT, String(DEVICE_TYPES.length)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      let out = '';
      const fail = (why: string): void => {
        child.kill('SIGKILL');
        reject(new Error(`null sinks did not start: ${why}`));
      };
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code) => fail(`exited with ${code}`));
      child.stdout?.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        child.removeAllListeners('exit');
        resolve(new NullSinks(child, (JSON.parse(out.slice(0, nl)) as { ports: number[] }).ports));
      });
    });
  }

  /** --idfa 127.0.0.1:port … for the loader. */
  cliArgs(): string[] {
    return DEVICE_TYPES.flatMap((t, i) => [`--${t}`, `127.0.0.1:${this.ports[i]}`]);
  }

  /** utime+stime of the sink process, clock ticks. */
  cpuTicks(): number {
    return cpuTicks(this.#child.pid as number);
  }

  async totals(): Promise<SinkTotals> {
    const all = await Promise.all(this.ports.map((port) => stats({ host: '127.0.0.1', port, label: `127.0.0.1:${port}` })));
    return { bytes: all.map((s) => Number(s['sink_bytes'])), fences: all.map((s) => Number(s['sink_fences'])) };
  }

  stop(): void {
    this.#child.kill('SIGTERM');
  }
}
