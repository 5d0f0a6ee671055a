/**
 * Null memcached servers, for one diagnostic row of the benchmark: what the loader alone does
 * when the servers' work is taken off the machine's cores, as it is in production, where the
 * servers are other hosts. Run as a child process (its CPU is measured apart):
 *
 *   node dist/bench/lib/null-sink.js 4      → prints {"ports":[…]} once listening
 *
 * Each port takes a stream of quiet meta sets and stores nothing. It answers what the loader
 * waits for: `MN` for every `mn` fence (a quiet set that succeeds answers nothing), and `stats`
 * on a connection of its own (the loader's eviction watch) with the fields that watch reads,
 * plus what the benchmark checks afterwards: bytes received and fences seen, per port. A load
 * connection opens with `stats settings` and `stats conns` (its handshake): they get memcached's
 * defaults and a list holding that connection alone.
 */
import { createServer, type Server, type Socket } from 'node:net';

// A fence follows the `\r\n` that ends the previous record's value. Searching for the six
// bytes, not just `mn\r\n`, keeps a value's random bytes from passing for a fence (one chance
// in 2^48 per position, against 2^32); a miscount would still show, as a loader error or in
// the benchmark's byte check.
const FENCE = Buffer.from('\r\nmn\r\n', 'latin1');
const MN = Buffer.from('MN\r\n', 'latin1');
const STATS = Buffer.from('stats\r\n', 'latin1');
const HANDSHAKE = Buffer.from('stats settings\r\nstats conns\r\n', 'latin1');

interface Port {
  bytes: number;
  fences: number;
}

const started = Date.now();

function statsReply(port: Port): Buffer {
  const fields: [string, number][] = [
    ['pid', process.pid],
    ['uptime', Math.floor((Date.now() - started) / 1000) + 1],
    ['evictions', 0],
    ['store_no_memory', 0],
    ['sink_bytes', port.bytes],
    ['sink_fences', port.fences],
  ];
  return Buffer.from(`${fields.map(([k, v]) => `STAT ${k} ${v}\r\n`).join('')}END\r\n`, 'latin1');
}

function handshakeReply(socket: Socket): Buffer {
  const conn = `STAT 30:addr tcp:${socket.remoteAddress}:${socket.remotePort}\r\nSTAT 30:listen_addr tcp:${socket.localAddress}:${socket.localPort}\r\nSTAT 30:state conn_parse_cmd\r\n`;
  return Buffer.from(`STAT item_size_max 1048576\r\nSTAT cas_enabled yes\r\nEND\r\n${conn}END\r\n`, 'latin1');
}

function serve(port: Port, socket: Socket): void {
  socket.setNoDelay(true); // one small MN per batch: Nagle would hold each back ~40 ms
  let first = true;
  // The last bytes of the previous read: a fence may be split across reads.
  let carry = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (first && chunk.subarray(0, STATS.length).equals(STATS)) {
      socket.write(statsReply(port));
      return;
    }
    if (first && chunk.equals(HANDSHAKE)) {
      socket.write(handshakeReply(socket));
      return;
    }
    first = false;
    port.bytes += chunk.length;
    // A fence across two reads starts in `carry` (the previous read's last bytes, fewer than a
    // fence's) and ends in this one; every other fence lies within `chunk`. Searching the two
    // apart spares copying every read.
    let fences = 0;
    if (carry.length > 0) {
      const seam = Buffer.concat([carry, chunk.subarray(0, FENCE.length - 1)]);
      const i = seam.indexOf(FENCE);
      if (i >= 0 && i < carry.length) fences++;
    }
    for (let i = chunk.indexOf(FENCE); i >= 0; i = chunk.indexOf(FENCE, i + FENCE.length)) fences++;
    const tail = chunk.length >= FENCE.length - 1 ? chunk : Buffer.concat([carry, chunk]);
    carry = Buffer.from(tail.subarray(Math.max(0, tail.length - (FENCE.length - 1))));
    if (fences > 0) {
      port.fences += fences;
      socket.write(fences === 1 ? MN : Buffer.concat(Array.from({ length: fences }, () => MN)));
    }
  });
  socket.on('error', () => socket.destroy());
}

const count = Number(process.argv[2] ?? 4);
const servers: Server[] = [];
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const port: Port = { bytes: 0, fences: 0 };
  const server = createServer((socket) => serve(port, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  servers.push(server);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('null sink: no port');
  ports.push(address.port);
}
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.on('SIGTERM', () => {
  for (const s of servers) s.close();
  process.exit(0);
});
