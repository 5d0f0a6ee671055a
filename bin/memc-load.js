#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+: V8's code for the loader's modules is cached across runs, ~0.03 s of the
// ~0.35 s of CPU that every run pays before its first line. The cache lives where Node puts it by default, under the
// temporary folder (os.tmpdir()/node-compile-cache; NODE_COMPILE_CACHE moves it and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off), never beside the install, so a read-only install
// works the same. It never throws: a cache that cannot be written is only not used.
module.enableCompileCache?.();
// The CLI runs from its esbuild bundle (dist/bundle/, made by `npm run build` beside tsc's
// dist/src/): every process pays Node's module loader for each file at start-up, and a one-line
// load opens 26 files there instead of 94 modules (issue #19). A clone has no dist/ until it is
// built: say so instead of a module-not-found stack.
let main;
try {
  ({ main } = await import('../dist/bundle/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/bundle/main.js')) throw err;
  process.stderr.write("memc-load: not built yet: run `npm ci && npm run build` in the clone first (npm test and npm run demo do it for you)\n");
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
