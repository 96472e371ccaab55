#!/usr/bin/env bash
# Fuzzing (README, "Fuzzing"): builds the libFuzzer targets of Fuzz/ (AddressSanitizer) and runs each
# for SECONDS (default 30) from its committed seed corpus Fuzz/corpus/TARGET/.
#
#   Scripts/fuzz.sh [SECONDS] [TARGET...]     every target, or the ones named
#   FUZZ_JOBS=N (default 2)                   targets run at once
#
# New inputs found go to a temp dir (the committed corpus is only read); a crash is saved as
# Fuzz/.build/fuzz-artifacts/TARGET/crash-* and makes the script fail: reproduce it with
#   FUZZ_TARGET=TARGET Fuzz/.build/debug/ParserFuzz FILE
# then turn it into a unit test (ScanCoreTests) and fix it. The last line is the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift $(( $# > 0 ? 1 : 0 ))
jobs=${FUZZ_JOBS:-2}
flags=(--package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)

build_start=$(date +%s)
build_log=$(mktemp /tmp/virus-scan-fuzz-build.XXXXXX)
# (the linker warns once per ASan helper symbol: the log is shown only when the build fails)
if ! swift build "${flags[@]}" --product ParserFuzz >"$build_log" 2>&1; then
  grep -v 'ld.gold: warning' "$build_log" | tail -n 40
  rm -f "$build_log"
  echo "fuzz: the fuzz targets do not build"
  exit 1
fi
rm -f "$build_log"
binary="$(swift build "${flags[@]}" --show-bin-path)/ParserFuzz"
build_seconds=$(( $(date +%s) - build_start ))
echo "fuzz: built $binary in ${build_seconds} s"

if [ $# -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls Fuzz/corpus)
fi

work=$(mktemp -d /tmp/virus-scan-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
export SWIFT_BACKTRACE=enable=no   # a crash ends the run at once (the backtracer can take 40 s)

run_one() {
  local target=$1 artifacts="Fuzz/.build/fuzz-artifacts/$1/"
  mkdir -p "$artifacts" "$work/$target"
  FUZZ_TARGET="$target" TMPDIR="$work" "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$work/$target" "Fuzz/corpus/$target" >"$work/$target.log" 2>&1
  echo $? >"$work/$target.rc"
}

runs_start=$(date +%s)
running=0
for target in "${targets[@]}"; do
  [ -d "Fuzz/corpus/$target" ] || { echo "fuzz: no corpus Fuzz/corpus/$target"; exit 2; }
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
runs_seconds=$(( $(date +%s) - runs_start ))

failed=0
total_runs=0
for target in "${targets[@]}"; do
  rc=$(cat "$work/$target.rc" 2>/dev/null || echo 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/$target.log" | tail -n 1)
  runs=${runs:-0}
  total_runs=$((total_runs + runs))
  rate=$(( runs / (seconds > 0 ? seconds : 1) ))
  if [ "$rc" = 0 ]; then
    printf 'fuzz: %-14s ok      %9d runs, %7d exec/s\n' "$target" "$runs" "$rate"
  else
    failed=$((failed + 1))
    printf 'fuzz: %-14s FAILED  %9d runs (exit %s); log:\n' "$target" "$runs" "$rc"
    grep -E 'ERROR|Fatal error|SUMMARY|Test unit written|==[0-9]+==' "$work/$target.log" | head -n 20 | sed 's/^/  /'
  fi
done
echo "fuzz: ${#targets[@]} targets, ${failed} failed, ${total_runs} runs; ${seconds} s each, ${jobs} at a time; build ${build_seconds} s, runs ${runs_seconds} s"
[ "$failed" = 0 ]
