/**
 * Files of the installed package that code finds at run time: package.json (--version),
 * appsinstalled.proto (self-test), the native addons. Found from this module's own URL, which is
 * two folders below the package's root in both builds that run: dist/src/package-file.js (tsc)
 * and dist/bundle/<chunk>.js (the CLI's esbuild bundle, into which this code is copied). A path
 * relative to each caller would differ between the two (dist/src/cli/ is three deep, the bundle
 * two), so every such path goes through here.
 */
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);

/** The URL of `rel` (a path from the package's root, `/`-separated). */
export function packageUrl(rel: string): URL {
  return new URL(rel, ROOT);
}

/** The file-system path of `rel` (a path from the package's root, `/`-separated). */
export function packagePath(rel: string): string {
  return fileURLToPath(packageUrl(rel));
}
