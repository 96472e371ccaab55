#!/usr/bin/env bash
# check_virus_scan speed, side by side in one run:
#  (a) empty pipeline: wall time of `check_virus_scan backlog`, process start included (target < 50 ms);
#  (b) 100k-file backlog: `check_virus_scan backlog` vs `find incoming -type f -printf '%T@ %s\n' | wc -l`
#      (both read every file's metadata; target: the check takes no longer than find).
# Release build in its own scratch path. Usage: Benchmarks/check-speed.sh [files] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-100000}
RUNS=${2:-5}
SCRATCH=${SCRATCH:-.build-bench}

swift build -c release --scratch-path "$SCRATCH" --product check_virus_scan >&2
BIN="$(pwd)/$SCRATCH/release/check_virus_scan"
WORK=$(mktemp -d /tmp/check-speed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Wall time of one command in milliseconds (stdout discarded).
ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

echo "machine: $(nproc) cores, $(uname -r); binary: $BIN"

# (a) empty pipeline
mkdir -p "$WORK/empty/incoming" "$WORK/empty/draft-incoming"
ms "$BIN" backlog --root "$WORK/empty" -w 10 -c 20 >/dev/null  # warm the page cache
samples=$(for _ in $(seq 20); do ms "$BIN" backlog --root "$WORK/empty" -w 10 -c 20; done)
echo "(a) empty pipeline, 20 runs: median $(echo "$samples" | median) ms, min $(echo "$samples" | sort -n | head -1) ms, max $(echo "$samples" | sort -n | tail -1) ms (target < 50 ms)"
"$BIN" backlog --root "$WORK/empty" -w 10 -c 20 | head -1 | cut -c1-100

# (b) FILES files in 100 subdirectories of incoming, mtimes spread over the last day
python3 - "$WORK/big/incoming" "$FILES" <<'PY'
import os, sys, time
root, count = sys.argv[1], int(sys.argv[2])
now = time.time()
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
for i in range(count):
    path = f"{root}/d{i % 100:03}/upload-{i:07}.pdf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x" * (i % 4096))
    os.close(fd)
    t = now - (i * 86400 / count)
    os.utime(path, (t, t))
PY
cd "$WORK/big"
find_cmd() { find incoming -type f -printf '%T@ %s\n' | wc -l; }
echo "find counts $(find_cmd) files; check says: $("$BIN" backlog --root "$WORK/big" --queue incoming | head -1 | cut -c1-60)"
find_ms=() check_ms=()
for _ in $(seq "$RUNS"); do
    find_ms+=("$(ms bash -c "find incoming -type f -printf '%T@ %s\n' | wc -l")")
    check_ms+=("$(ms "$BIN" backlog --root "$WORK/big" --queue incoming)")
done
f=$(printf '%s\n' "${find_ms[@]}" | median)
c=$(printf '%s\n' "${check_ms[@]}" | median)
echo "(b) $FILES-file backlog, $RUNS alternating runs each (warm cache):"
echo "    find -printf | wc -l : median $f ms   (runs: ${find_ms[*]})"
echo "    check_virus_scan     : median $c ms   (runs: ${check_ms[*]})"
awk -v c="$c" -v f="$f" 'BEGIN { printf "    ratio check/find     : %.2f (target <= 1.00)\n", c / f }'
lines=$("$BIN" backlog --root "$WORK/big" --queue incoming -vv | wc -l)
bytes=$("$BIN" backlog --root "$WORK/big" --queue incoming -vv | wc -c)
echo "    output with -vv      : $lines lines, $bytes bytes (bounded: top-N, not every file)"
