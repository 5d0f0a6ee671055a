/**
 * Read-back checks shared by the end-to-end tests: every stored value against the oracle, in
 * pipelined slices so a big dataset neither builds one huge request nor hits the admin deadline.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { ServerAddress } from '../../src/config/servers.js';
import { getManyBytes, stats } from '../../src/memcached/admin.js';
import { TYPES, type Expected } from './oracle.js';

const SLICE = 20_000;

/** Values of `keys` (latin1 strings, one char per byte, as the oracle builds them), in order. */
export async function readValues(address: ServerAddress, keys: readonly string[]): Promise<(Buffer | null)[]> {
  const out: (Buffer | null)[] = [];
  for (let i = 0; i < keys.length; i += SLICE) {
    const slice = keys.slice(i, i + SLICE).map((k) => Buffer.from(k, 'latin1'));
    out.push(...(await getManyBytes(address, slice, 30_000)));
  }
  return out;
}

export interface CheckOptions {
  /** Device types whose server to check (default: all four). */
  readonly types?: readonly (typeof TYPES)[number][];
  /** Also require curr_items to equal the number of expected keys: nothing else stored. Default true. */
  readonly exactCount?: boolean;
}

export interface Mismatch {
  readonly missing: number;
  readonly wrong: number;
  /** The first key that is missing or wrong, JSON-quoted; '' when none. */
  readonly example: string;
}

/** How many of `want`'s keys the server does not hold with exactly the wanted bytes. */
export async function compareValues(address: ServerAddress, want: ReadonlyMap<string, Buffer>): Promise<Mismatch> {
  const keys = [...want.keys()];
  const got = await readValues(address, keys);
  let missing = 0;
  let wrong = 0;
  let example = '';
  for (const [j, key] of keys.entries()) {
    const stored = got[j];
    if (!stored) missing++;
    else if (!stored.equals(want.get(key) as Buffer)) wrong++;
    else continue;
    example ||= JSON.stringify(key);
  }
  return { missing, wrong, example };
}

/** Every expected key holds exactly the expected bytes; by default the servers hold nothing else. */
export async function checkServers(addresses: readonly ServerAddress[], expected: Expected, opts: CheckOptions = {}): Promise<void> {
  for (const [i, type] of TYPES.entries()) {
    if (opts.types && !opts.types.includes(type)) continue;
    const address = addresses[i] as ServerAddress;
    const want = expected.byType[type] as Map<string, Buffer>;
    const { missing, wrong, example } = await compareValues(address, want);
    assert.equal(missing + wrong, 0, `${address.label}: ${missing} key(s) missing, ${wrong} wrong of ${want.size}, e.g. ${example}`);
    if (opts.exactCount !== false) {
      const s = await stats(address);
      assert.equal(Number(s['curr_items']), want.size, `item count on ${address.label}`);
    }
  }
}

/** Names of the dot-renamed (done) files of a folder, sorted. */
export const doneFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.')).sort();
