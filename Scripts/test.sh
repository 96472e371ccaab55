#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, runs every test suite.
# The tests start their own clamd, icinga2, Prometheus and carbon-cache on loopback and in temp dirs.
set -uo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh || exit 1
log=$(mktemp /tmp/virus-scan-tests.XXXXXX)
# VIRUS_SCAN_CONFIG empty: no test reads this machine's /etc/virus-scan.yml (every test passes
# --config or --root anyway).
# Passes: most suites together; then, each on its own, the suites that are timing-sensitive to the
# rest (the exporter's in-process servers read-time-out when the whole suite shares the two cores
# with them — under investigation, see the session-3 note), the two load generators (700 sockets
# against the exporter; 5,000 plugin runs) and the watcher's timing tests.
VIRUS_SCAN_CONFIG= swift test --skip 'ExporterTests\.|ArgvFuzzTests|DrainWatchTests' 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
for pass in "--filter ExporterTests\. --skip AbuseTests" "--filter AbuseTests" "--filter DrainWatchTests" "--filter ArgvFuzzTests"; do
  # shellcheck disable=SC2086
  VIRUS_SCAN_CONFIG= swift test --skip-build $pass 2>&1 | tee -a "$log"
  pass_status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] && status=$pass_status
done
# The Debian package, after the tests: built, installed, run through icinga2 and purged (its own
# "package-test: N passed, M failed" line comes before the closing line).
bash Scripts/package-test.sh
package_status=$?
[ "$status" -eq 0 ] && status=$package_status
# One plain closing line for CI: Swift Testing's summary, restated.
# (two runs: their totals are added)
total=$(grep -E 'Test run with [0-9]+ tests? in [0-9]+ suites? (passed|failed)' "$log" \
  | sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' | awk '{ n += $1 } END { if (NR) print n }')
failed_tests=$(grep -E '^✘ Test ' "$log" | grep -E ' failed after ' | wc -l | tr -d ' ')
rm -f "$log"
# The drain --watch benchmark's smoke run: watch side only, small database, about 2 min.
smoke_work=$(mktemp -d /tmp/watch-smoke.XXXXXX)
if bash Benchmarks/watch.sh --smoke --bin "$(swift build --show-bin-path)/check_virus_scan" --work "$smoke_work"; then
  echo "watch-smoke: passed"
else
  echo "watch-smoke: failed"
  status=1
fi
rm -rf "$smoke_work"
# Fuzzing (README, "Fuzzing"): every libFuzzer target for FUZZ_SECONDS (default 30; 0 skips it),
# after the tests; its summary line comes just before the closing line.
fuzz_seconds=${FUZZ_SECONDS:-30}
fuzz_summary="fuzz: skipped (FUZZ_SECONDS=0)"
fuzz_status=0
if [ "$fuzz_seconds" != 0 ]; then
  fuzz_log=$(mktemp /tmp/virus-scan-fuzz.XXXXXX)
  bash Scripts/fuzz.sh "$fuzz_seconds" 2>&1 | tee "$fuzz_log"
  fuzz_status=${PIPESTATUS[0]}
  fuzz_summary=$(grep -E '^fuzz: ' "$fuzz_log" | tail -n 1)
  rm -f "$fuzz_log"
fi
echo "$fuzz_summary"
if [ -n "$total" ]; then
  echo "swift-test: $((total - failed_tests)) passed, ${failed_tests} failed"
fi
if [ "$status" = 0 ] && [ "$fuzz_status" != 0 ]; then exit "$fuzz_status"; fi
exit "$status"
