#!/usr/bin/env bash
# The scan journal at 1M records, side by side in one run:
#  (a) size: a 1M-record journal written by the journal's own writer with rotation off (bytes, bytes a record);
#  (b) reading the last 10 minutes of it: `check_virus_scan wait --window 10m` (whole process: it reads the
#      journal backwards from its end, plus the empty outcome trees) vs `jq -c 'select(.scanned >= T)' | wc -l`
#      over the same file (the query an operator would type; it reads the whole file) — and the count each found;
#  (c) bounded growth: the same 1M records written with the default rotation (64 MiB): bytes on disk
#      (journal.jsonl + journal.jsonl.1) and the write time (batches of 1,000, as drain appends).
# Records span 7 days (one every 0.6 s: ~1,000 in the last 10 minutes).
# Release build in its own scratch path (CONFIG=debug to use .build/debug instead).
# Usage: Benchmarks/journal.sh [records] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-1000000}
RUNS=${2:-5}
CONFIG=${CONFIG:-release}
SCRATCH=${SCRATCH:-.build-bench}

if [ "$CONFIG" = release ]; then
    swift build -c release --scratch-path "$SCRATCH" --product check_virus_scan >&2
    swift build -c release --scratch-path "$SCRATCH" --product virus_scan_fixtures >&2
    BIN_DIR="$(pwd)/$SCRATCH/release"
else
    BIN_DIR="$(pwd)/.build/debug"
fi
BIN="$BIN_DIR/check_virus_scan"
FIXTURES="$BIN_DIR/virus_scan_fixtures"
WORK=$(mktemp -d /tmp/journal-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

echo "machine: $(nproc) cores, $(uname -r); binaries: $BIN_DIR ($CONFIG); $RECORDS records"
ROOT="$WORK/uploads"
mkdir -p "$ROOT"/{incoming,clean,infected,draft-incoming,draft-clean,draft-infected} "$WORK/state" "$WORK/rotating"
PIPELINE=$(realpath "$ROOT")

# (a) one file, rotation off
"$FIXTURES" journal "$WORK/state/journal.jsonl" --records "$RECORDS" --pipeline "$PIPELINE" --rotate-bytes 0 | sed 's/^/    writer: /'
bytes=$(stat -c %s "$WORK/state/journal.jsonl")
awk -v b="$bytes" -v n="$RECORDS" 'BEGIN { printf "(a) %d records: %d bytes (%.1f MiB), %.0f bytes a record\n", n, b, b / 1048576, b / n }'

# (b) the last 10 minutes
NOW=$(date +%s)
SINCE=$((NOW - 600))
ours_count=$("$BIN" wait --root "$ROOT" --state-dir "$WORK/state" --now "$NOW" -w 20m -c 40m | head -1 | sed -n "s/.*'processed'=\([0-9]*\).*/\1/p")
peer_count=$(jq -c "select(.scanned >= $SINCE and .scanned <= $NOW)" "$WORK/state/journal.jsonl" | wc -l)
echo "(b) records in the last 10 min: check_virus_scan wait counts ${ours_count:-?}, jq finds $peer_count"
ours_ms=() peer_ms=()
for _ in $(seq "$RUNS"); do
    ours_ms+=("$(ms "$BIN" wait --root "$ROOT" --state-dir "$WORK/state" --now "$NOW" -w 20m -c 40m)")
    peer_ms+=("$(ms bash -c "jq -c 'select(.scanned >= $SINCE and .scanned <= $NOW)' '$WORK/state/journal.jsonl' | wc -l")")
done
o=$(printf '%s\n' "${ours_ms[@]}" | median)
p=$(printf '%s\n' "${peer_ms[@]}" | median)
echo "    check_virus_scan wait --window 10m : median $o ms   (runs: ${ours_ms[*]})"
echo "    jq select | wc -l                  : median $p ms   (runs: ${peer_ms[*]})"
awk -v o="$o" -v p="$p" 'BEGIN { printf "    ratio ours/jq                      : %.4f\n", o / p }'

# (c) the same records through the rotating writer (default 64 MiB)
"$FIXTURES" journal "$WORK/rotating/journal.jsonl" --records "$RECORDS" --pipeline "$PIPELINE" | sed 's/^/    writer: /'
current=$(stat -c %s "$WORK/rotating/journal.jsonl")
rotated=$(stat -c %s "$WORK/rotating/journal.jsonl.1" 2>/dev/null || echo 0)
awk -v c="$current" -v r="$rotated" -v b="$bytes" 'BEGIN { printf "(c) with rotation: %.1f MiB on disk (journal.jsonl %.1f MiB + .1 %.1f MiB) instead of %.1f MiB; bound 128 MiB\n", (c + r) / 1048576, c / 1048576, r / 1048576, b / 1048576 }'
rot_ms=$(ms "$BIN" wait --root "$ROOT" --state-dir "$WORK/rotating" --now "$NOW" -w 20m -c 40m)
echo "    check_virus_scan wait --window 10m over the rotated journal: $rot_ms ms"
