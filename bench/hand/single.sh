#!/bin/bash
# One single-host run of the bench's default row, by hand: the bench's 3 files (3 M lines) into
# 4 local `memcached -t 1`, default settings. Prints the loader's user and system CPU, wall time
# and peak RSS. For quick alternated pairs between builds or settings; `npm run bench:compare`
# is the measured way.
#
#   bench/hand/single.sh [loader flags…]        e.g. --workers 0
#   NODE=path/to/node BUILD=other/checkout bench/hand/single.sh
#
# BUILD: the checkout whose bin/memc-load.js runs (default: this one, built). DATA: the folder of
# .tsv.gz files (default: the bench's 3 × 1 M lines, made by `npm run bench` or `bench:compare`).
# PORT_BASE: the servers listen on PORT_BASE+1..+4 (default 21210, below the ephemeral range).
set -euo pipefail
PORT_BASE=${PORT_BASE:-21210}
# shellcheck source=servers.sh
. "$(dirname "$0")/servers.sh"
sleep 0.4
/usr/bin/time -f "user %U s, sys %S s, wall %e s, peak RSS %M kB" "$NODE" "$BUILD/bin/memc-load.js" \
  --pattern "$SCRATCH/*.tsv.gz" -q "${SERVERS[@]}" "$@"
