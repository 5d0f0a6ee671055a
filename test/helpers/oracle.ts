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

export const TYPES = ['idfa', 'gaid', 'adid', 'dvid'] as const;
const UserApps = protobuf.loadSync(join(repoRoot(), 'appsinstalled.proto')).lookupType('UserApps');
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface OracleRecord {
  readonly type: string;
  readonly key: string;
  readonly apps: number[];
  readonly lat: number;
  readonly lon: number;
}

/** A record, 'blank', or the reject reason, by SPEC.md's table in its order. */
export function judgeLine(raw: string, maxLineBytes = 1024 * 1024): OracleRecord | 'blank' | string {
  if (Buffer.byteLength(raw, 'latin1') > maxLineBytes) return 'too_long';
  const line = raw.replace(/[\r\n]+$/, '');
  if (/^[ \t\r\n\v\f]*$/.test(line)) return 'blank';
  const f = line.split('\t');
  if (f.length !== 5) return 'fields';
  const [type, id, lat, lon, apps] = f as [string, string, string, string, string];
  if (type === '' || id === '') return 'empty';
  if (!(TYPES as readonly string[]).includes(type)) return 'type';
  const key = `${type}:${id}`;
  if (key.length > 250 || [...key].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) return 'key';
  const num = (s: string) => {
    const t = s.replace(/^ +| +$/g, '');
    return NUMBER.test(t) && Number.isFinite(Number(t)) ? Number(t) : null;
  };
  const la = num(lat);
  const lo = num(lon);
  if (la === null || lo === null) return 'geo';
  const ids = apps === '' ? [] : apps.split(',').map((a) => a.replace(/^ +| +$/g, ''));
  const kept = ids.filter((a) => /^\d+$/.test(a) && BigInt(a) <= 4294967295n).map(Number);
  return { type, key, apps: kept, lat: la, lon: lo };
}

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
  const byType: Record<string, Map<string, Buffer>> = Object.fromEntries(TYPES.map((t) => [t, new Map()]));
  const records: OracleRecord[] = [];
  const rejected: Record<string, number> = {};
  let lines = 0;
  for (const file of files) {
    const text = gunzipSync(readFileSync(file)).toString('latin1');
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    for (const raw of all) {
      const r = judgeLine(raw);
      if (r === 'blank') continue;
      lines++;
      if (typeof r === 'string') {
        rejected[r] = (rejected[r] ?? 0) + 1;
        continue;
      }
      records.push(r);
      (byType[r.type] as Map<string, Buffer>).set(r.key, encode(r));
    }
  }
  return { byType, records, rejected, lines };
}

/** The not-yet-done log files of a folder, oldest first. */
export function pendingFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.tsv.gz') && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n));
}
