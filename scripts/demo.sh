#!/usr/bin/env bash
# Quick start, part 1: everything from a fresh clone to values read back from memcached.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/ensure-setup.mjs        # npm ci when needed; memcached from Debian's packages
npm run --silent build
exec node dist/scripts/demo.js "$@"
