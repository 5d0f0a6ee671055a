import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dropOversize, findSelf, maxKeyAndValue, parseConnList, stillOpen } from '../../../src/memcached/handshake.js';

/** `stats conns` as memcached 1.6.18 prints it (captured), the listener first. */
const LISTING: [string, string][] = [
  ['23:addr', 'tcp:127.0.0.1:41211'],
  ['23:state', 'conn_listening'],
  ['23:secs_since_last_cmd', '0'],
  ['24:addr', 'tcp:127.0.0.1:49712'],
  ['24:listen_addr', 'tcp:127.0.0.1:41211'],
  ['24:state', 'conn_parse_cmd'],
  ['24:secs_since_last_cmd', '0'],
  ['25:addr', 'tcp:127.0.0.1:49722'],
  ['25:listen_addr', 'tcp:127.0.0.1:41211'],
  ['25:state', 'conn_read'],
  ['25:secs_since_last_cmd', '3'],
];

describe('handshake', () => {
  it('parseConnList keeps client connections with fd, address and state', () => {
    assert.deepEqual(parseConnList(LISTING), [
      { fd: '24', addr: 'tcp:127.0.0.1:49712', state: 'conn_parse_cmd' },
      { fd: '25', addr: 'tcp:127.0.0.1:49722', state: 'conn_read' },
    ]);
  });

  it('findSelf: by our local address, IPv4 and IPv6', () => {
    const entries = parseConnList(LISTING);
    assert.deepEqual(findSelf(entries, '127.0.0.1', 49722), { fd: '25', addr: 'tcp:127.0.0.1:49722' });
    const v6 = parseConnList([
      ['30:addr', 'tcp6:[::1]:49128'],
      ['30:listen_addr', 'tcp6:[::1]:41213'],
      ['30:state', 'conn_read'],
      ['31:addr', 'tcp6:[::1]:49130'],
      ['31:listen_addr', 'tcp6:[::1]:41213'],
      ['31:state', 'conn_parse_cmd'],
    ]);
    assert.deepEqual(findSelf(v6, '::1', 49128), { fd: '30', addr: 'tcp6:[::1]:49128' });
  });

  it('findSelf behind a proxy: the one busy connection, or null when several are', () => {
    const entries = parseConnList(LISTING);
    assert.deepEqual(findSelf(entries, '10.1.1.1', 5000), { fd: '24', addr: 'tcp:127.0.0.1:49712' });
    const busy = entries.map((e) => ({ ...e, state: 'conn_parse_cmd' }));
    assert.equal(findSelf(busy, '10.1.1.1', 5000), null);
  });

  it('findSelf with the old socket still listed at our address (reconnected from its port): the busy one is us', () => {
    const entries = [
      { fd: '11', addr: 'tcp:127.0.0.1:5000', state: 'conn_read' },
      { fd: '12', addr: 'tcp:127.0.0.1:5000', state: 'conn_parse_cmd' },
    ];
    assert.deepEqual(findSelf(entries, '127.0.0.1', 5000), { fd: '12', addr: 'tcp:127.0.0.1:5000' });
  });

  it('stillOpen: by fd and address together; our own entry is never the old socket', () => {
    const entries = parseConnList(LISTING);
    const old = { fd: '25', addr: 'tcp:127.0.0.1:49722' };
    assert.deepEqual(stillOpen(entries, [old], null), [old]);
    assert.deepEqual(stillOpen(entries, [{ fd: '25', addr: 'tcp:127.0.0.1:1' }], null), [], 'fd reused by another client');
    assert.deepEqual(stillOpen(entries, [{ fd: '26', addr: old.addr }], null), []);
    assert.deepEqual(stillOpen(entries, [old], old), [], 'same port and same fd again: it is us');
  });

  it('maxKeyAndValue: item_size_max less 59 bytes with CAS, 51 without; null when not told', () => {
    // Measured on memcached 1.6.18: -I 1m stores key + value up to 1,048,517; -I 4k -C up to 4,045.
    assert.equal(maxKeyAndValue(new Map([['item_size_max', '1048576'], ['cas_enabled', 'yes']])), 1_048_517);
    assert.equal(maxKeyAndValue(new Map([['item_size_max', '4096'], ['cas_enabled', 'no']])), 4045);
    assert.equal(maxKeyAndValue(new Map()), null);
    assert.equal(maxKeyAndValue(new Map([['item_size_max', 'x']])), null);
  });

  it('dropOversize: drops records whose key + value exceed the limit, keeps order and the fence', () => {
    const frame = (k: string, v: string) => `ms ${k} ${v.length} q T60\r\n${v}\r\n`;
    const buf = Buffer.from(frame('a', 'x'.repeat(9)) + frame('bb', 'y'.repeat(9)) + frame('c', 'z'.repeat(3)) + 'mn\r\n');
    const cut = dropOversize(buf, 10);
    assert.equal(cut.dropped, 1);
    assert.equal(Buffer.from(cut.buf).toString(), frame('a', 'x'.repeat(9)) + frame('c', 'z'.repeat(3)) + 'mn\r\n');
    const same = dropOversize(buf, 11);
    assert.equal(same.dropped, 0);
    assert.equal(same.buf, buf, 'nothing to drop: the same buffer');
    assert.equal(Buffer.from(dropOversize(buf, 2).buf).toString(), 'mn\r\n');
    const small = Buffer.from(frame('a', 'b') + 'mn\r\n');
    assert.equal(dropOversize(small, small.byteLength).buf, small, 'a batch under the limit is not scanned');
  });
});
