/**
 * SPEC.md "A line", transcribed literally with strings and regular expressions: the one
 * independent model that tests compare the byte parser, the generator and the stored data with.
 * It shares no code with src/record on purpose (a shared bug would hide itself), and it is
 * slow and plain: it only has to be obviously right. latin1 keeps one char per byte.
 */
export const SPEC_TYPES = ['idfa', 'gaid', 'adid', 'dvid'] as const;
export const MiB = 1024 * 1024;
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');

export interface SpecRecord {
  readonly type: string;
  /** Index in SPEC_TYPES: the server the record goes to. */
  readonly typeIndex: number;
  readonly id: string;
  readonly key: string;
  readonly lat: number;
  readonly lon: number;
  readonly apps: number[];
  /** Some app ids were dropped (a warning; the line is kept). */
  readonly dropped: boolean;
}

export type Verdict = 'blank' | 'too_long' | 'fields' | 'empty' | 'type' | 'key' | 'geo' | SpecRecord;

/** `raw` is one line as latin1 text without its `\n` (a trailing `\r` may remain). */
export function judgeLine(raw: string, maxLineBytes = MiB): Verdict {
  const line = raw.replace(/[\r\n]+$/, '');
  if (/^[ \t\r\n\v\f]*$/.test(line)) return 'blank';
  if (raw.length > maxLineBytes) return 'too_long';
  const fields = line.split('\t');
  if (fields.length !== 5) return 'fields';
  const [type, id, lat, lon, apps] = fields as [string, string, string, string, string];
  if (type === '' || id === '') return 'empty';
  const typeIndex = (SPEC_TYPES as readonly string[]).indexOf(type);
  if (typeIndex < 0) return 'type';
  const key = `${type}:${id}`;
  if (key.length > 250 || /[\x00-\x20\x7f]/.test(key)) return 'key';
  const num = (text: string): number => {
    const t = trimSpaces(text);
    const v = DECIMAL.test(t) ? Number(t) : NaN;
    return Number.isFinite(v) ? v : NaN;
  };
  const latV = num(lat);
  const lonV = num(lon);
  if (Number.isNaN(latV) || Number.isNaN(lonV)) return 'geo';
  const ids: number[] = [];
  let dropped = false;
  if (apps !== '') {
    for (const part of apps.split(',')) {
      const t = trimSpaces(part);
      if (/^\d+$/.test(t) && Number(t) <= 4294967295) ids.push(Number(t));
      else dropped = true;
    }
  }
  return { type, typeIndex, id, key, lat: latV, lon: lonV, apps: ids, dropped };
}

/** Lines of a decompressed file, without their `\n`; a final empty piece is not a line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
