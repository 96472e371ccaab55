#!/usr/bin/env bash
# The full SIGKILL stress test of drain: hundreds of runs over
# a few hundred files, each killed with SIGKILL after a random delay, then rerun; after every
# rerun every file that was queued is in exactly one of queue/clean/infected with identical bytes,
# and no temp file is left. Odd runs take the cross-filesystem path (--simulate-cross-device).
#
# It runs the CI test DrainCommandTests.killAtRandomInstants with larger counts:
#   Benchmarks/drain-kill-stress.sh [KILLS=300] [FILES=300] [SEED=1]
set -euo pipefail
KILLS=${1:-300}
FILES=${2:-300}
SEED=${3:-1}
cd "$(dirname "$0")/.."
DRAIN_KILL_COUNT=$KILLS DRAIN_KILL_FILES=$FILES DRAIN_KILL_SEED=$SEED \
    swift test --scratch-path "${SCRATCH:-.build-d}" --filter 'DrainCommandTests/killAtRandomInstants'
