import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ephemeralRange, freePort, listenOutsideEphemeral } from '../../helpers/ports.js';
import { FakeServer } from '../../helpers/fake-server.js';
import { TcpForwarder } from '../../helpers/tcp-forwarder.js';

// The test servers' ports must never be ones the kernel gives client connections: the reconnect
// fence binds a connection's old local port again, and a server there made it fail.
describe('test ports', () => {
  const { low, high } = ephemeralRange();
  const outside = (port: number) => port > 0 && (port < low || port > high);

  it('reads the kernel range', () => {
    assert.ok(low > 1024 && high >= low, `${low}..${high}`);
  });

  it('freePort gives ports outside the ephemeral range that can be listened on', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(outside(port), `port ${port} is inside ${low}..${high}`);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('listenOutsideEphemeral listens the server itself and says where', async () => {
    const srv = createServer();
    const port = await listenOutsideEphemeral(srv);
    try {
      assert.ok(outside(port));
      assert.equal((srv.address() as { port: number }).port, port);
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('the fake server and the forwarder listen outside it too', async () => {
    const fake = await FakeServer.start();
    const fwd = new TcpForwarder({ host: '127.0.0.1', port: fake.port });
    try {
      await fwd.start();
      assert.ok(outside(fake.port), `fake server on ${fake.port}`);
      assert.ok(outside(fwd.port), `forwarder on ${fwd.port}`);
    } finally {
      await fwd.stop();
      await fake.stop();
    }
  });
});
