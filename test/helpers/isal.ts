/**
 * Whether the native ISA-L inflater can be tested here. CI installs libisal-dev, so there it
 * must be (a missing addon fails the tests that need it); elsewhere they skip and say why.
 */
import { isalStatus } from '../../src/logfile/isal-gunzip.js';

export function isalReady(): { readonly ok: boolean; readonly skip: string | false } {
  const s = isalStatus();
  if (s.ok) return { ok: true, skip: false };
  if (process.env.CI !== undefined && process.env.MEMC_LOAD_NO_ISAL !== '1') return { ok: false, skip: false };
  return { ok: false, skip: `the native ISA-L inflater is not here (${s.why}); CI builds it` };
}

/** zlib's messages for the checks the ISA-L addon reports in zlib's own words. */
export const ZLIB_WORDS: readonly string[] = [
  'incorrect header check',
  'unknown compression method',
  'unknown header flags set',
  'header crc mismatch',
  'incorrect data check',
  'incorrect length check',
  'unexpected end of file',
];
