#!/usr/bin/env bash
# Configures and builds trtorch against the torch of $PYTHON (default python3).
#   scripts/build.sh [targets...]     (BUILD_DIR, default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD=${BUILD_DIR:-build}
PY_EXE=$(command -v "$PY")
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
GEN=()
[ -f "$BUILD/CMakeCache.txt" ] || { command -v ninja >/dev/null && GEN=(-G Ninja); }
cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DPython3_EXECUTABLE="$PY_EXE" >"$BUILD.cmake.log" 2>&1 \
  || { cat "$BUILD.cmake.log"; exit 1; }
# nproc honours OMP_NUM_THREADS (a build under OMP_NUM_THREADS=2 would use 2 jobs): ignore it.
JOBS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if [ $# -gt 0 ]; then
  cmake --build "$BUILD" -j "$JOBS" --target "$@"
else
  cmake --build "$BUILD" -j "$JOBS"
fi
