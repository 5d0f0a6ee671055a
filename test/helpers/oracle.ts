/**
 * An independent model of what memcached must hold after a run: SPEC.md's line rules written
 * plainly on strings (no code shared with src/record), values encoded by protobufjs from
 * appsinstalled.proto. Integration tests compare every stored value with it, byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { repoRoot } from './paths.js';
import { judgeLine, SPEC_TYPES, splitLines, type SpecRecord } from './spec-model.js';

export const TYPES = SPEC_TYPES;
export { judgeLine };
const UserApps = protobuf.loadSync(join(repoRoot(), 'appsinstalled.proto')).lookupType('UserApps');

export type OracleRecord = SpecRecord;

export function encode(r: OracleRecord): Buffer {
  return Buffer.from(UserApps.encode(UserApps.create({ apps: r.apps, lat: r.lat, lon: r.lon })).finish());
}

export function decode(buf: Uint8Array): { apps: number[]; lat: number; lon: number } {
  const m = UserApps.toObject(UserApps.decode(buf), { defaults: true }) as { apps: number[]; lat: number; lon: number };
  return { apps: m.apps, lat: m.lat, lon: m.lon };
}

export interface Expected {
  /** Final value per key, by device type: the last line naming the key wins. */
  readonly byType: Record<string, Map<string, Buffer>>;
  readonly records: OracleRecord[];
  readonly rejected: Record<string, number>;
  readonly lines: number;
}

/** Reads files in the order given (the caller passes them chronologically). */
export function expectFrom(files: readonly string[]): Expected {
  const last: Record<string, Map<string, OracleRecord>> = Object.fromEntries(TYPES.map((t) => [t, new Map()]));
  const records: OracleRecord[] = [];
  const rejected: Record<string, number> = {};
  let lines = 0;
  for (const file of files) {
    const text = gunzipSync(readFileSync(file)).toString('latin1');
    for (const raw of splitLines(text)) {
      const r = judgeLine(raw);
      if (r === 'blank') continue;
      lines++;
      if (typeof r === 'string') {
        rejected[r] = (rejected[r] ?? 0) + 1;
        continue;
      }
      records.push(r);
      (last[r.type] as Map<string, OracleRecord>).set(r.key, r);
    }
  }
  // Only each key's last record is encoded: the value memcached must hold.
  const byType: Record<string, Map<string, Buffer>> = Object.fromEntries(
    TYPES.map((t) => [t, new Map([...(last[t] as Map<string, OracleRecord>)].map(([k, r]) => [k, encode(r)]))]),
  );
  return { byType, records, rejected, lines };
}

/** The not-yet-done log files of a folder, oldest first. */
export function pendingFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.tsv.gz') && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n));
}
