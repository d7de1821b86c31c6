#!/usr/bin/env bash
# The whole test suite: set-up, build, then every test with CTest (op, pass, model, runtime,
# error and fuzz tests; GPU tests where a GPU is present). Ends with CTest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
jobs=$(( $(nproc) / 2 )); [ "$jobs" -ge 2 ] || jobs=2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=passive
ctest -j "$jobs" --output-on-failure "$@"
