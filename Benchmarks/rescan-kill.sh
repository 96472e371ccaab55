#!/usr/bin/env bash
# rescan-clean under SIGKILL at random points over a real corpus and database (the resume
# figures): runs the release binary over the benchmark corpus (see rescan.sh) with --jobs 2 and
# the audit journal, SIGKILLs it after a random 1-2.5 s (engine load included) KILLS times, then
# lets a last run finish the pass, and reports: scans in all, files, files scanned again after each
# kill (bound: --jobs), and that the final state is complete with exact counts.
#
# Usage: Benchmarks/rescan-kill.sh [--files N] [--database small|medium] [--kills N] [--work DIR]
# Needs the inputs and binaries of rescan.sh (run that first). --report-only: the corpus stays unchanged.
set -euo pipefail
FILES=200; DATABASE=medium; KILLS=20; WORK=/tmp/vsm-bench
while [ $# -gt 0 ]; do
    case "$1" in
        --files) FILES=$2; shift 2 ;; --database) DATABASE=$2; shift 2 ;;
        --kills) KILLS=$2; shift 2 ;; --work) WORK=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;; *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)
CORPUS=$WORK/corpus-$FILES; DB=$WORK/db-$DATABASE
[ -f "$CORPUS.done" ] && [ -f "$DB.done" ] || { echo "run Benchmarks/rescan.sh --files $FILES --database $DATABASE first" >&2; exit 2; }
ROOT=$WORK/rescan-kill-root
rm -rf "$ROOT"; mkdir -p "$ROOT/state" "$ROOT/incoming" "$ROOT/infected"; ln -s "$CORPUS" "$ROOT/clean"
AUDIT=$ROOT/audit.jsonl
run() {
    "$BIN/check_virus_scan" rescan-clean --root "$ROOT" --state-dir "$ROOT/state" --queue incoming --engine libclamav \
        --database-dir "$DB" --jobs 2 --lock "$ROOT/rescan.lock" --report-only --no-syslog --audit-journal "$AUDIT" "$@"
}
BOUNDS=$ROOT/bounds; : >"$BOUNDS"
MIDPASS=0
for i in $(seq "$KILLS"); do
    if grep -q '"completed":true' "$ROOT/state/rescan-state.json" 2>/dev/null; then break; fi
    run >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 1 + 1.5 * r / 32767 }')"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    { [ -f "$AUDIT" ] && grep -c '' "$AUDIT" || echo 0; } >>"$BOUNDS"
    if grep -q '"completed":false' "$ROOT/state/rescan-state.json" 2>/dev/null; then MIDPASS=$((MIDPASS + 1)); fi
done
echo "SIGKILLs that left the pass unfinished: $MIDPASS"
run >"$ROOT/final.out" 2>&1 || true
tail -1 "$ROOT/final.out"
python3 - "$AUDIT" "$BOUNDS" "$ROOT/state/rescan-state.json" <<'PY'
import json, sys
lines = open(sys.argv[1], 'rb').read().split(b'\n')
def path(line):
    try: return json.loads(line)['path']
    except Exception: return None  # a line cut short by a kill
bounds = [0] + [int(x) for x in open(sys.argv[2]).read().split()] + [len(lines)]
runs = [{p for p in map(path, lines[a:b]) if p is not None} for a, b in zip(bounds, bounds[1:])]
scans = [p for p in map(path, lines) if p is not None]
again = [len(runs[k] & runs[k + 1]) for k in range(len(runs) - 1)]
state = json.load(open(sys.argv[3]))
print(f"kills {len(bounds) - 2}; {len(scans)} completed scans of {len(set(scans))} files; files whose finished scan was "
      f"repeated after each kill: {again} (max {max(again) if again else 0}; bound: --jobs = 2; files cut off mid-scan "
      f"by a kill are not in the audit journal and are scanned once, after it)")
print(f"final state: completed {state['completed']}, files {state['filesDone']}/{state['filesTotal']}, "
      f"detections {state['detections']}, errors {state['errors']}")
PY
