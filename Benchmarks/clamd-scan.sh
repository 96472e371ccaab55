#!/usr/bin/env bash
# clamd throughput: ScanCore's clamd client (INSTREAM and FILDES) against
# `clamdscan --multiscan --fdpass`, on the same corpus and the same clamd configuration.
#
# What it measures:
#   An upload-like corpus (default 2,000 files, 10 KB-5 MB: PDFs, docx/xlsx, images, text;
#   1% EICAR) scanned by one clamd (MaxThreads 2) loaded with the medium synthetic database
#   (~522k signatures), three ways:
#     a. clamdscan --multiscan --fdpass      (the fast clamdscan form: fd passing, pipelined)
#     b. ours, FILDES:   clamd_bench --mode fildes   (ClamdSession per connection, N connections)
#     c. ours, INSTREAM: clamd_bench --mode instream (the file's bytes streamed over the socket)
#   clamd caches clean verdicts by file hash until it reloads, so clamd is restarted before each
#   run: every run starts with an empty cache (the database load is not timed).
#   Prints wall time, files/s, MB/s, the verdict counts and the ratios ours/clamdscan.
#   All three must agree on the number of infected files.
#
# Usage (from anywhere; needs Debian's clamav-daemon and clamdscan: /usr/sbin/clamd, clamdscan):
#   Benchmarks/clamd-scan.sh [--files N] [--work DIR] [--concurrency N] [--max-threads N]
#
#   --files N        corpus size (default 2000)
#   --work DIR       where the corpus, database and clamd's socket live (default /tmp/vsm-bench;
#                    corpus and database are reused when there, shared with inprocess-scan.sh)
#   --concurrency N  connections clamd_bench keeps busy (default 4; clamd queues what exceeds
#                    MaxThreads, which keeps both its threads fed)
#   --max-threads N  clamd's MaxThreads (default 2, the number of cores the target machines have)
#
# It builds release binaries in .build-bench and generates inputs with virus_scan_fixtures
# (`corpus --files N DIR`, `database medium DIR`). Nothing generated goes into the repository.
# Timings only mean something on an otherwise idle machine: the load average is printed first.
set -euo pipefail

FILES=2000
WORK=/tmp/vsm-bench
CONCURRENCY=4
MAX_THREADS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --files) FILES=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --concurrency) CONCURRENCY=$2; shift 2 ;;
        --max-threads) MAX_THREADS=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
for tool in /usr/sbin/clamd clamdscan; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install clamav-daemon clamdscan)" >&2; exit 2; }
done

echo "== build (release, .build-bench)"
swift build -c release --scratch-path .build-bench --product virus_scan_fixtures >/dev/null
swift build -c release --scratch-path .build-bench --product clamd_bench >/dev/null
BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)
FIXTURES=$BIN/virus_scan_fixtures
BENCH=$BIN/clamd_bench

# Seconds with millisecond precision between two `date +%s.%N` readings.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# Value of key=value in a file.
value() { sed -n "s/^$1=//p" "$2" | head -1; }

mkdir -p "$WORK"
CORPUS=$WORK/corpus-$FILES
DB=$WORK/db-medium
echo "== inputs in $WORK"
if [ ! -f "$CORPUS.done" ]; then
    rm -rf "$CORPUS"
    start=$(date +%s.%N)
    "$FIXTURES" corpus --files "$FILES" "$CORPUS"
    touch "$CORPUS.done"
    echo "   corpus generated in $(elapsed "$start" "$(date +%s.%N)") s"
fi
if [ ! -f "$DB.done" ]; then
    rm -rf "$DB"
    start=$(date +%s.%N)
    "$FIXTURES" database medium "$DB" >/dev/null
    touch "$DB.done"
    echo "   medium database generated in $(elapsed "$start" "$(date +%s.%N)") s"
fi
CORPUS_FILES=$(find "$CORPUS" -type f | wc -l)
CORPUS_BYTES=$(find "$CORPUS" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
CORPUS_MB=$(awk -v b="$CORPUS_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "   corpus: $CORPUS_FILES files, $CORPUS_MB MB; database: $DB"

# clamd in the foreground with its own configuration; the socket path must stay under 108 bytes.
RUN=$(mktemp -d /tmp/clamd-bench-XXXXXX)
SOCKET=$RUN/clamd.sock
CONF=$RUN/clamd.conf
cat >"$CONF" <<CONF
LocalSocket $SOCKET
DatabaseDirectory $DB
Foreground yes
LogSyslog no
PidFile $RUN/clamd.pid
TemporaryDirectory $RUN
MaxThreads $MAX_THREADS
StreamMaxLength 50M
CONF
CLAMD_PID=
stop_clamd() {
    if [ -n "$CLAMD_PID" ]; then
        kill "$CLAMD_PID" 2>/dev/null || true
        wait "$CLAMD_PID" 2>/dev/null || true
        CLAMD_PID=
    fi
}
cleanup() { stop_clamd; rm -rf "$RUN"; }
trap cleanup EXIT
# Starts a fresh clamd (empty verdict cache) and waits for PONG.
start_clamd() {
    stop_clamd
    /usr/sbin/clamd --config-file="$CONF" >"$RUN/clamd.log" 2>&1 &
    CLAMD_PID=$!
    "$BENCH" --socket "$SOCKET" --wait 120 || { cat "$RUN/clamd.log" >&2; exit 1; }
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm the page cache so no run pays for the first read.
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null

echo "== a. clamdscan --multiscan --fdpass (clamd MaxThreads $MAX_THREADS, fresh daemon)"
start_clamd
OUT=$RUN/clamdscan.out
start=$(date +%s.%N)
clamdscan --config-file="$CONF" --multiscan --fdpass --no-summary "$CORPUS" >"$OUT" 2>&1 || true  # 1: found
CLAMDSCAN_WALL=$(elapsed "$start" "$(date +%s.%N)")
CLAMDSCAN_INFECTED=$(grep -c ' FOUND$' "$OUT" || true)
CLAMDSCAN_ERRORS=$(grep -c ' ERROR$' "$OUT" || true)
echo "   wall $CLAMDSCAN_WALL s, infected $CLAMDSCAN_INFECTED, errors $CLAMDSCAN_ERRORS"

run_ours() {
    local mode=$1 out=$RUN/$1.out
    start_clamd
    "$BENCH" --socket "$SOCKET" --mode "$mode" --concurrency "$CONCURRENCY" "$CORPUS" >"$out"
    echo "   wall $(printf '%.2f' "$(value seconds "$out")") s, infected $(value infected "$out"), errors $(value errors "$out"), clean $(value clean "$out")"
}
echo "== b. ours: FILDES, $CONCURRENCY sessions (fresh daemon)"
run_ours fildes
echo "== c. ours: INSTREAM, $CONCURRENCY sessions (fresh daemon)"
run_ours instream
stop_clamd

FILDES_WALL=$(value seconds "$RUN/fildes.out")
INSTREAM_WALL=$(value seconds "$RUN/instream.out")
echo "== result ($CORPUS_FILES files, $CORPUS_MB MB, medium database, clamd MaxThreads $MAX_THREADS)"
awk -v f="$CORPUS_FILES" -v mb="$CORPUS_MB" -v c="$CLAMDSCAN_WALL" -v fd="$FILDES_WALL" -v is="$INSTREAM_WALL" 'BEGIN {
    printf "   %-38s %8s %10s %9s %12s\n", "", "wall s", "files/s", "MB/s", "vs clamdscan"
    printf "   %-38s %8.2f %10.1f %9.2f %11.2fx\n", "clamdscan --multiscan --fdpass", c, f / c, mb / c, 1
    printf "   %-38s %8.2f %10.1f %9.2f %11.2fx\n", "ours: FILDES", fd, f / fd, mb / fd, c / fd
    printf "   %-38s %8.2f %10.1f %9.2f %11.2fx\n", "ours: INSTREAM", is, f / is, mb / is, c / is
}'
for mode in fildes instream; do
    infected=$(value infected "$RUN/$mode.out")
    if [ "$infected" != "$CLAMDSCAN_INFECTED" ]; then
        echo "   MISMATCH: $mode found $infected infected files, clamdscan $CLAMDSCAN_INFECTED" >&2
    fi
done
