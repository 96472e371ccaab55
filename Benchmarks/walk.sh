#!/usr/bin/env bash
# Queue-snapshot walk vs find, side by side in one run (foundation issue).
#
# Builds trees of 100k and 1M files in 1,000 directories (sizes 0-4 KiB, mtimes over two days),
# warms the page cache, then times, per tree:
#   find ROOT -type f -printf '%T@ %s\n' > /dev/null          (the peer: reads every file's metadata)
#   snapshot_bench ROOT                                          (our release-build queue snapshot, 2 threads)
# and prints wall time, peak RSS (GNU time) and the ratio ours/find (target: <= 1.0 at 1M, RSS <= 64 MiB).
# Also times the outcome snapshot of the 1M tree with a 10-minute window (nothing changed in it:
# it reads directories and counts entries without stat'ing files).
#
# Usage: Benchmarks/walk.sh [WORKDIR]   (default: a temp dir, removed afterwards; needs ~1 GB of inodes)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d /tmp/walkbench.XXXXXX)}"
mkdir -p "$work"
cleanup() { [ -z "${1:-}" ] && rm -rf "$work"; }
trap 'cleanup "${KEEP:-}"' EXIT
swift build -c release --scratch-path .build-bench --product snapshot_bench >/dev/null
bench=.build-bench/release/snapshot_bench

measure() { # label command... -> prints "label wall_s rss_kib"
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null; } 2>&1 | tail -1)
  echo "$label $out"
}

runs=${RUNS:-3}
for files in 100000 1000000; do
  tree="$work/tree-$files"
  if [ ! -d "$tree" ]; then "$bench" --make-tree "$files" 1000 "$tree"; fi
  find "$tree" -type f -printf '%T@ %s\n' > /dev/null   # warm the cache
  "$bench" "$tree" > /dev/null
  best_find=""; best_ours=""; rss_find=""; rss_ours=""
  for _ in $(seq "$runs"); do
    read -r _ w m < <(measure find find "$tree" -type f -printf '%T@ %s\n')
    if [ -z "$best_find" ] || awk "BEGIN{exit !($w < $best_find)}"; then best_find=$w; fi; rss_find=$m
    read -r _ w m < <(measure ours "$bench" "$tree")
    if [ -z "$best_ours" ] || awk "BEGIN{exit !($w < $best_ours)}"; then best_ours=$w; fi; rss_ours=$m
  done
  echo "tree=$files files: find ${best_find}s (RSS $((rss_find / 1024)) MiB)  snapshot ${best_ours}s (RSS $((rss_ours / 1024)) MiB)  ratio ours/find = $(awk "BEGIN{printf \"%.2f\", $best_ours / $best_find}")"
  "$bench" "$tree"
done
# The tree was just built, so every directory "changed" recently; look at it from a day later
# (--now-offset) so it is history, as an outcome tree of old documents is.
read -r _ w m < <(measure outcome "$bench" --now-offset 86400 --outcome-window 600 "$work/tree-1000000")
echo "outcome snapshot of the 1M tree, 10-minute window, nothing new: ${w}s (RSS $((m / 1024)) MiB)"
"$bench" --now-offset 86400 --outcome-window 600 "$work/tree-1000000"
read -r _ w m < <(measure outcome-find find "$work/tree-1000000" -type f)
echo "peer: find -type f (names only, no stat) on the same tree: ${w}s"
