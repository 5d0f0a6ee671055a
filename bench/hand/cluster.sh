#!/bin/bash
# One run of the bench's cluster row, by hand: the bench's 3 files through `enqueue --wait` and
# one worker process (started before, idle until the plan), 4 local `memcached -t 1` and a Redis.
# Prints the enqueue's CPU and the worker's CPU from just before the enqueue (as the bench's row
# counts them). For quick alternated pairs; `npm run bench:compare -- --rows cluster` is the
# measured way.
#
#   bench/hand/cluster.sh [enqueue flags…]      e.g. --workers 0, --spool /dev/shm/spool
#
# BUILD, NODE and DATA as in single.sh; PORT_BASE default 21220 (so both can run at once), Redis
# on PORT_BASE+9;
# WORKER_FLAGS: node flags for the worker process (e.g. --cpu-prof).
set -euo pipefail
PORT_BASE=${PORT_BASE:-21220}
# shellcheck source=servers.sh
. "$(dirname "$0")/servers.sh"
REDIS=redis://127.0.0.1:$((PORT_BASE + 9))
redis-server --port $((PORT_BASE + 9)) --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
sleep 0.4
# shellcheck disable=SC2086
"$NODE" ${WORKER_FLAGS:-} "$BUILD/bin/memc-load.js" worker --redis "$REDIS" --log "$SCRATCH/worker.log" &
worker=$!
pids+=("$worker")
sleep 1.5
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(ticks "$worker")
/usr/bin/time -f "enqueue: user %U s, sys %S s, wall %e s" "$NODE" "$BUILD/bin/memc-load.js" enqueue --redis "$REDIS" \
  --pattern "$SCRATCH/*.tsv.gz" --wait -q "${SERVERS[@]}" "$@" >/dev/null
t1=$(ticks "$worker")
hz=$(getconf CLK_TCK)
echo "worker: $(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", d / hz}') s of CPU, $(grep VmHWM "/proc/$worker/status" | tr -s ' \t' ' ')"
done=$(ls -a "$SCRATCH" | grep -c '^\.[0-9].*\.tsv\.gz$' || true)
echo "files marked done: $done"
# The worker finishes what it holds on SIGTERM: let it.
kill -TERM "$worker"; wait "$worker" 2>/dev/null || true
