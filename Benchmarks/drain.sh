#!/usr/bin/env bash
# drain against the runbook's ways, side by side in one run.
#
# Rows (each on a fresh copy of the corpus: clamd caches clean verdicts by hash):
#   batch     find incoming -type f -print0 | xargs -0 clamscan -d DB        (the runbook, reference 1.0x)
#   clamd     check_virus_scan drain --engine clamd (clamd already running, MaxThreads 2)  target >= 2x
#   libclamav check_virus_scan drain --engine libclamav --jobs 2 (engine load included)    target >= 1.7x
#   bare      check_virus_scan scan --engine libclamav --jobs 2 (same scans, no moves)     drain overhead <= 5%
#   per-file  one clamscan per file (the old way), on a subset, extrapolated
#
# Usage: Benchmarks/drain.sh [--work DIR] [--files 200] [--subset 20] [--database medium|large|full] [--bin PATH]
# Inputs: a generated database (default medium, ~522k signatures, 0.6 s to load; full is the
# official database's size, ~8.6M signatures, 15-35 s and 1.3-1.6 GB) and the upload-like corpus from virus_scan_fixtures, generated
# under --work (default /tmp/vsm-bench) when missing. Timings only mean something on an idle
# machine: the load average is printed with the results.
set -euo pipefail
WORK=/tmp/vsm-bench
FILES=200
SUBSET=20
DATABASE=medium
BIN=""
while [ $# -gt 0 ]; do
    case "$1" in
        --work) WORK=$2; shift 2 ;;
        --files) FILES=$2; shift 2 ;;
        --subset) SUBSET=$2; shift 2 ;;
        --database) DATABASE=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
if [ -z "$BIN" ]; then
    swift build -c release --scratch-path .build-bench --product check_virus_scan >/dev/null
    swift build -c release --scratch-path .build-bench --product virus_scan_fixtures >/dev/null
    BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)/check_virus_scan
fi
FIXTURES=$(dirname "$BIN")/virus_scan_fixtures
CORPUS=$WORK/corpus-$FILES
DB=$WORK/db-$DATABASE
mkdir -p "$WORK"
[ -f "$CORPUS.done" ] || { rm -rf "$CORPUS"; "$FIXTURES" corpus --files "$FILES" "$CORPUS"; touch "$CORPUS.done"; }
[ -f "$DB.done" ] || { rm -rf "$DB"; "$FIXTURES" database "$DATABASE" "$DB" >/dev/null; touch "$DB.done"; }
RUN=$(mktemp -d /tmp/drain-bench.XXXXXX)
trap 'kill $CLAMD_PID 2>/dev/null || true; rm -rf "$RUN"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fresh() {  # a fresh pipeline root with the corpus queued
    local root=$RUN/$1
    mkdir -p "$root/clean" "$root/infected" "$root/state" "$root/lists"
    cp -a "$CORPUS" "$root/incoming"
    find "$root/incoming" -type f -exec touch -d '-1 hour' {} +
    echo "$root"
}
N=$(find "$CORPUS" -type f | wc -l)
MB=$(find "$CORPUS" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
echo "corpus $CORPUS: $N files, $MB MB; database $DB; binary $BIN"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null

# clamd, started before timing (in production it is already running)
mkdir -p "$RUN/clamd"
cat >"$RUN/clamd/clamd.conf" <<CONF
LocalSocket $RUN/clamd/clamd.sock
DatabaseDirectory $DB
Foreground yes
MaxThreads 2
LogSyslog no
TemporaryDirectory $RUN/clamd
CONF
/usr/sbin/clamd --config-file="$RUN/clamd/clamd.conf" >"$RUN/clamd/out" 2>&1 &
CLAMD_PID=$!
for _ in $(seq 1800); do "$BIN" clamd-status --socket "$RUN/clamd/clamd.sock" >/dev/null 2>&1 && break; sleep 0.1; done

common() { echo --root "$1" --queue incoming --lock "$1/incoming.lock" --list-dir "$1/lists" --state-dir "$1/state" --min-age 0; }

root=$(fresh batch); cd "$root/incoming"
t0=$(now); find . -type f -print0 | xargs -0 clamscan -d "$DB" --no-summary >"$RUN/batch.out" 2>&1 || true; t1=$(now); cd - >/dev/null
BATCH=$(secs "$t0" "$t1"); BATCH_FOUND=$(grep -c ' FOUND$' "$RUN/batch.out" || true)

root=$(fresh clamd)
t0=$(now); "$BIN" drain $(common "$root") --engine clamd --socket "$RUN/clamd/clamd.sock" --clamd-config "$RUN/clamd/clamd.conf" --jobs 2 >"$RUN/clamd.out" || true; t1=$(now)
CLAMD=$(secs "$t0" "$t1"); CLAMD_SUMMARY=$(tail -1 "$RUN/clamd.out")

root=$(fresh libclamav)
t0=$(now); "$BIN" drain $(common "$root") --engine libclamav --database-dir "$DB" --jobs 2 >"$RUN/lib.out" || true; t1=$(now)
LIB=$(secs "$t0" "$t1"); LIB_SUMMARY=$(tail -1 "$RUN/lib.out")

root=$(fresh bare)
t0=$(now); "$BIN" scan --engine libclamav --database-dir "$DB" --jobs 2 --no-summary "$root/incoming" >"$RUN/bare.out" || true; t1=$(now)
BARE=$(secs "$t0" "$t1"); BARE_FOUND=$(grep -c ' FOUND$' "$RUN/bare.out" || true)

root=$(fresh perfile)
find "$root/incoming" -type f >"$RUN/all-files"
head -n "$SUBSET" "$RUN/all-files" >"$RUN/subset"  # (head on a pipe would fail the pipeline under pipefail)
t0=$(now); while IFS= read -r f; do clamscan -d "$DB" --no-summary "$f" >/dev/null 2>&1 || true; done <"$RUN/subset"; t1=$(now)
PERFILE_SUB=$(secs "$t0" "$t1"); PERFILE=$(awk -v s="$PERFILE_SUB" -v n="$N" -v k="$SUBSET" 'BEGIN { printf "%.1f", s * n / k }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
printf '%-58s %9s %8s\n' "how ($N files, $MB MB, $DATABASE database)" "seconds" "vs batch"
printf '%-58s %9s %8s\n' "find | xargs clamscan -d DB (runbook batch; $BATCH_FOUND found)" "$BATCH" "1.00x"
printf '%-58s %9s %8s\n' "drain --engine clamd (MaxThreads 2, FILDES)" "$CLAMD" "$(ratio "$BATCH" "$CLAMD")x"
printf '%-58s %9s %8s\n' "drain --engine libclamav --jobs 2 (load included)" "$LIB" "$(ratio "$BATCH" "$LIB")x"
printf '%-58s %9s %8s\n' "scan --engine libclamav --jobs 2 (bare, no moves; $BARE_FOUND found)" "$BARE" "$(ratio "$BATCH" "$BARE")x"
printf '%-58s %9s %8s\n' "one clamscan per file ($SUBSET files: $PERFILE_SUB s, extrapolated)" "$PERFILE" "$(ratio "$BATCH" "$PERFILE")x"
echo
echo "drain overhead vs bare in-process scan: $(awk -v d="$LIB" -v b="$BARE" 'BEGIN { printf "%+.1f%%", (d / b - 1) * 100 }')"
echo "clamd drain:     $CLAMD_SUMMARY"
echo "libclamav drain: $LIB_SUMMARY"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
