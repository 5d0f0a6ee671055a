import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../../src/errors.js';

const table: [string, string, string][] = [
  ['InvalidArgumentError', 'MCL_ERR_INVALID_ARG', 'invalid argument'],
  ['ConfigError', 'MCL_ERR_CONFIG', 'invalid configuration'],
  ['FileReadError', 'MCL_ERR_FILE_READ', 'could not read file'],
  ['GzipError', 'MCL_ERR_GZIP', 'corrupt or truncated gzip data'],
  ['ConnectTimeoutError', 'MCL_ERR_CONNECT_TIMEOUT', 'connect timeout'],
  ['ResponseTimeoutError', 'MCL_ERR_RESPONSE_TIMEOUT', 'response timeout'],
  ['SocketError', 'MCL_ERR_SOCKET', 'socket error'],
  ['ProtocolError', 'MCL_ERR_PROTOCOL', 'protocol error'],
  ['ServerError', 'MCL_ERR_SERVER', 'server error'],
  ['ClientError', 'MCL_ERR_CLIENT', 'client error'],
  ['ClosedError', 'MCL_ERR_CLOSED', 'connection closed'],
  ['DestroyedError', 'MCL_ERR_DESTROYED', 'connection destroyed'],
  ['ServerGoneError', 'MCL_ERR_SERVER_GONE', 'server unreachable after retries'],
  ['WorkerError', 'MCL_ERR_WORKER', 'worker thread failed'],
  ['InterruptedError', 'MCL_ERR_INTERRUPTED', 'interrupted by signal'],
  ['FenceError', 'MCL_ERR_FENCE', 'reconnect fence not confirmed'],
  ['LeaseExpiredError', 'MCL_ERR_LEASE', 'lease on the job ran out'],
  ['FolderLockedError', 'MCL_ERR_LOCKED', 'the folder is being loaded by another run'],
  ['SpoolError', 'MCL_ERR_SPOOL', 'spool unusable'],
  ['RedisError', 'MCL_ERR_REDIS', 'redis unreachable'],
];

for (const [name, code, message] of table) {
  test(`${name}: name, code, default message, context`, () => {
    const Cls = (errors as unknown as Record<string, new (m?: string, c?: errors.ErrorContext) => errors.MemcLoadError>)[name];
    assert.ok(Cls, `${name} is exported`);
    const e = new Cls();
    assert.equal(e.name, name);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    assert.ok(e instanceof errors.MemcLoadError && e instanceof Error);
    const cause = new Error('root');
    const c = new Cls('x', { server: '127.0.0.1:1', file: 'f', line: 3, cause });
    assert.deepEqual([c.message, c.server, c.file, c.line, c.cause], ['x', '127.0.0.1:1', 'f', 3, cause]);
  });
}

test('every code is in the table above and in docs/errors.md', () => {
  const codes = Object.values(errors.ERROR_CODES).sort();
  assert.deepEqual(codes, table.map(([, c]) => c).sort());
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const c of codes) assert.ok(doc.includes(c), `${c} documented`);
});
