#!/usr/bin/env node
// A clone runs from dist/, which `npm run build` makes; say so instead of a module-not-found stack.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js')) throw err;
  process.stderr.write("memc-load: not built yet: run `npm ci && npm run build` in the clone first (npm test and npm run demo do it for you)\n");
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
