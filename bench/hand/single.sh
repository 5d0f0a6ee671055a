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
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT}
NODE=${NODE:-node}
PORT_BASE=${PORT_BASE:-21210}
DATA=${DATA:-$(ls -d "$ROOT"/bench/.cache/f3x1000000-r0.05-b0.001-s1-*/files 2>/dev/null | head -1 || true)}
if [ -z "$DATA" ] || ! ls "$DATA"/*.tsv.gz >/dev/null 2>&1; then
  echo "no bench data: run npm run bench (or npm run bench:compare) once, or set DATA=folder" >&2
  exit 2
fi
SCRATCH=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$SCRATCH"; }
trap cleanup EXIT
# Hard links where the file system allows: the renames mark the links done, not the data.
for f in "$DATA"/*.tsv.gz; do ln "$f" "$SCRATCH/" 2>/dev/null || cp "$f" "$SCRATCH/"; done
for i in 1 2 3 4; do
  memcached -u nobody -t 1 -m 1508 -U 0 -l 127.0.0.1 -p $((PORT_BASE + i)) & pids+=($!)
done
sleep 0.4
/usr/bin/time -f "user %U s, sys %S s, wall %e s, peak RSS %M kB" "$NODE" "$BUILD/bin/memc-load.js" \
  --pattern "$SCRATCH/*.tsv.gz" -q \
  --idfa 127.0.0.1:$((PORT_BASE + 1)) --gaid 127.0.0.1:$((PORT_BASE + 2)) \
  --adid 127.0.0.1:$((PORT_BASE + 3)) --dvid 127.0.0.1:$((PORT_BASE + 4)) "$@"
