/**
 * Loading an optional N-API addon of native/ (the ISA-L inflater, the line encoder). Both are
 * built at install only where they can be (scripts/build-native.mjs never fails the install), so
 * neither may be required: each is used only once it loads and passes a start-up check of its
 * own, and otherwise its caller says why, once, and takes the JS or zlib path. One rule for both,
 * so that "missing", "does not load" and "failed its check" read the same in either log line.
 */
import { createRequire } from 'node:module';
import { packagePath } from './package-file.js';

export type AddonStatus = { readonly ok: true } | { readonly ok: false; readonly why: string };

export interface AddonSpec<T> {
  /** The addon's file, relative to native/: `isal-inflate/build/Release/isal_inflate.node`. */
  readonly path: string;
  /** The environment variable that makes the loader ignore the addon (its "missing" path, on purpose). */
  readonly optOut: string;
  /** What its build needs, for the message when it was not built: `no libisal-dev`. */
  readonly needs: string;
  /** Runs known input through the loaded addon: null if it gave the right answer, else what went wrong. */
  readonly check: (addon: T) => string | null;
}

/** The addon of `spec` if it loads and passes its check; else null and why. Call once per thread. */
export function loadAddon<T>(spec: AddonSpec<T>): { readonly status: AddonStatus; readonly addon: T | null } {
  const not = (why: string) => ({ status: { ok: false, why } as const, addon: null });
  if (process.env[spec.optOut] === '1') return not(`${spec.optOut}=1 is set`);
  let loaded: T;
  try {
    // From the package's root (the same in a clone and an installed package, tsc's build or the bundle).
    loaded = createRequire(import.meta.url)(packagePath(`native/${spec.path}`)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return not(e.code === 'MODULE_NOT_FOUND' ? `the addon was not built at install (${spec.needs}, or its build failed: see the install output)` : `the addon does not load (${e.message})`);
  }
  const failed = spec.check(loaded);
  if (failed !== null) return not(`the addon failed its start-up check (${failed})`);
  return { status: { ok: true }, addon: loaded };
}
