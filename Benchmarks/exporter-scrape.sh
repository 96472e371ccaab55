#!/usr/bin/env bash
# virus_scan_exporter scrape benchmark. Not a test: prints figures.
#
# 1. Scrape cost on a big pipeline: a 100k-file backlog in incoming and a 1M-file clean tree (1,000
#    directories each, built by snapshot_bench --make-tree; the clean tree's directories are back-dated
#    so nothing "arrived" in them). Release build, 2 walk threads. Reports wall time (curl) and the
#    exporter's CPU time (utime+stime from /proc) per scrape, best and median of RUNS. Target: < 1 s.
# 2. Load on the demo-sized pipeline: wrk -c 50 -d 30s on /metrics; errors, latency percentiles,
#    and the exporter's peak RSS sampled every 0.5 s (target < 64 MiB).
#
# Usage: Benchmarks/exporter-scrape.sh [WORKDIR]
#   env: BACKLOG=100000 CLEAN=1000000 RUNS=5 WRK_SECONDS=30 WRK_CONNECTIONS=50 KEEP=1 (keep WORKDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
BACKLOG=${BACKLOG:-100000}; CLEAN=${CLEAN:-1000000}; RUNS=${RUNS:-5}
WRK_SECONDS=${WRK_SECONDS:-30}; WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
work="${1:-$(mktemp -d /tmp/exporter-bench.XXXXXX)}"
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${KEEP:-}" ] && rm -rf "$work"
}
trap cleanup EXIT

echo "==> release build (.build-bench)" >&2
swift build -c release --scratch-path .build-bench --product virus_scan_exporter >/dev/null
swift build -c release --scratch-path .build-bench --product snapshot_bench >/dev/null
bin=.build-bench/release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
start_exporter() { # root port -> pid
  "$bin/virus_scan_exporter" --root "$1" --state-dir "$work/state" --socket "$work/no-clamd.sock" \
    --database-dir "$work/db" --web.listen-address "127.0.0.1:$2" --log.level error >/dev/null 2>>"$work/exporter.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/-/healthy" >/dev/null && break; sleep 0.1; done
  echo "$pid"
}
mkdir -p "$work/db" "$work/state"

# --- 1. big pipeline -------------------------------------------------------------------------
big="$work/big"
if [ ! -d "$big/clean" ]; then
  echo "==> building trees: $BACKLOG waiting, $CLEAN clean" >&2
  mkdir -p "$big"/{infected,draft-incoming,draft-clean,draft-infected}
  "$bin/snapshot_bench" --make-tree "$BACKLOG" 1000 "$big/incoming"
  "$bin/snapshot_bench" --make-tree "$CLEAN" 1000 "$big/clean"
  find "$big/clean" -type d -exec touch -d '-1 day' {} +
fi
find "$big" -type f -printf '' ; # warm the page cache
port=$(free_port)
pid=$(start_exporter "$big" "$port")
curl -sf "http://127.0.0.1:$port/metrics" -o "$work/big.prom"   # first scrape (warm-up)
walls=(); cpus=()
for _ in $(seq "$RUNS"); do
  c0=$(cpu_ticks "$pid")
  w=$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics")
  c1=$(cpu_ticks "$pid")
  walls+=("$w"); cpus+=("$(awk "BEGIN{printf \"%.2f\", ($c1 - $c0) / $hz}")")
done
rss_big=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{printf "best %.3f s, median %.3f s", a[1], a[int((NR+1)/2)]}'; }
echo "scrape of $BACKLOG waiting + $CLEAN clean ($RUNS runs): wall $(stats "${walls[@]}"); exporter CPU $(stats "${cpus[@]}"); peak RSS ${rss_big} MiB"
grep -E '^virus_scan_(queue_files|outcome_files)\{queue="incoming"' "$work/big.prom" || true
grep -E '^virus_scan_collector_duration_seconds' "$work/big.prom" || true

# --- 2. wrk on the demo-sized pipeline ----------------------------------------------------------
demo="$work/demo"
mkdir -p "$demo"/{incoming,draft-incoming,clean,infected,draft-clean,draft-infected}
for i in $(seq 1 12); do
  d="$demo/incoming/attachment_data/file/$((4000 + i))"; mkdir -p "$d"
  head -c $((i * 2048)) /dev/zero > "$d/report $i.pdf"; touch -d "-$((i * 4)) minutes" "$d/report $i.pdf"
done
for i in $(seq 1 50); do d="$demo/clean/attachment_data/file/$((3000 + i))"; mkdir -p "$d"; echo x > "$d/f$i.pdf"; done
port=$(free_port)
pid=$(start_exporter "$demo" "$port")
( while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/{print $2}' "/proc/$pid/status" >> "$work/rss.txt" 2>/dev/null; sleep 0.5; done ) &
sampler=$!
wrk -t 2 -c "$WRK_CONNECTIONS" -d "${WRK_SECONDS}s" --latency "http://127.0.0.1:$port/metrics" | tee "$work/wrk.txt"
hwm=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss.txt" | tail -1)
errors=$(grep -E 'Socket errors|Non-2xx' "$work/wrk.txt" || echo "no socket errors, no non-2xx responses")
p99=$(awk '$1=="99%"{print $2}' "$work/wrk.txt")
rps=$(awk '/Requests\/sec/{print $2}' "$work/wrk.txt")
echo "wrk -c $WRK_CONNECTIONS -d ${WRK_SECONDS}s /metrics (demo pipeline): ${rps} req/s, p99 ${p99}, ${errors}; exporter RSS peak sampled $((peak / 1024)) MiB, VmHWM ${hwm} MiB"
