/**
 * Whether the native line encoder can be tested here. CI builds it (it needs only node-gyp and
 * Node's headers), so there it must be (a missing addon fails the tests that need it); elsewhere
 * they skip and say why.
 */
import { nativeEncodeStatus } from '../../src/pipeline/native-encode.js';

export function nativeEncodeReady(): { readonly ok: boolean; readonly skip: string | false } {
  const s = nativeEncodeStatus();
  if (s.ok) return { ok: true, skip: false };
  if (process.env.CI !== undefined && process.env.MEMC_LOAD_NO_NATIVE_ENCODE !== '1') return { ok: false, skip: false };
  return { ok: false, skip: `the native line encoder is not here (${s.why}); CI builds it` };
}
