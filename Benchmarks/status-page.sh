#!/usr/bin/env bash
# The status page's render time on a 100k-file backlog, beside find on the same tree.
#
# Builds a queue of 100,000 files in 1,000 directories (snapshot_bench --make-tree), starts
# virus_scan_exporter on it with --status.max-age 0 (every request gathers anew: walks the queues,
# reads the journal, asks clamd, reads the database headers), and times, best of RUNS:
#   curl http://…/             (our page: gathering + HTML, over loopback)
#   curl http://…/status.json  (the same as JSON)
#   find QUEUE -type f -printf '%T@ %s\n'   (the peer: the metadata walk alone)
# and prints the ratio page/find. Uses the debug build unless BUILD=release.
#
# Usage: Benchmarks/status-page.sh [WORKDIR]   (default: a temp dir, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d /tmp/statusbench.XXXXXX)}"
mkdir -p "$work"
exporter_pid=""
cleanup() { [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$work"; }
trap cleanup EXIT
config=${BUILD:-debug}
swift build -c "$config" --product virus_scan_exporter >/dev/null
swift build -c "$config" --product snapshot_bench >/dev/null
bin=$(swift build -c "$config" --show-bin-path)
root="$work/root"
mkdir -p "$root"/{clean,infected,draft-incoming,draft-clean,draft-infected,state,db}
[ -d "$root/incoming" ] || "$bin/snapshot_bench" --make-tree 100000 1000 "$root/incoming" >/dev/null
cat > "$work/virus-scan.yml" <<YAML
root: $root
state_dir: state
list_dir: lists
YAML
port=$(( 20000 + RANDOM % 20000 ))
"$bin/virus_scan_exporter" --config "$work/virus-scan.yml" --socket "$work/no-clamd.sock" --database-dir "$root/db" \
  --lock "$work/rescan.lock" --web.listen-address "127.0.0.1:$port" --status.max-age 0 --status.interval 3600 2>"$work/exporter.log" &
exporter_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.2; done
find "$root/incoming" -type f -printf '%T@ %s\n' > /dev/null   # warm the cache
runs=${RUNS:-5}
best() { sort -n | head -1; }
page=$(for _ in $(seq "$runs"); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/"; done | best)
json=$(for _ in $(seq "$runs"); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/status.json"; done | best)
peer=$(for _ in $(seq "$runs"); do /usr/bin/time -f '%e' find "$root/incoming" -type f -printf '%T@ %s\n' 2>&1 >/dev/null | tail -1; done | best)
gather=$(curl -s "http://127.0.0.1:$port/status.json" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("%.3f" % s["gatherSeconds"], sum(q["files"] or 0 for q in s["queues"]))')
bytes=$(curl -s "http://127.0.0.1:$port/" | wc -c)
echo "status page over ${gather#* } waiting files ($config build): / ${page}s (${bytes} bytes), /status.json ${json}s, gathering alone ${gather% *}s; find ${peer}s; ratio page/find = $(awk "BEGIN{printf \"%.2f\", $page / ($peer > 0 ? $peer : 0.01)}")"
