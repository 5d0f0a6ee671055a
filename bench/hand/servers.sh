# Sourced by single.sh and cluster.sh: BUILD, NODE and DATA; a scratch folder holding hard links of
# the data's files (the loader renames them); 4 local `memcached -t 1` on PORT_BASE+1..+4, stopped
# with everything in `pids` when the script exits; SERVERS, the loader's four server flags.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT}
NODE=${NODE:-node}
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
SERVERS=(--idfa 127.0.0.1:$((PORT_BASE + 1)) --gaid 127.0.0.1:$((PORT_BASE + 2))
  --adid 127.0.0.1:$((PORT_BASE + 3)) --dvid 127.0.0.1:$((PORT_BASE + 4)))
