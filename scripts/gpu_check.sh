#!/usr/bin/env bash
# On the GPU machine: set-up, build against its torch, run every test (the GPU ones included),
# run the benchmark, and print a summary. Extra arguments go to bench/bench.py
# (e.g. --with-compile, --models resnet50 --batches 1,32 --precisions fp16).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT_DIR:-out/gpu_check}
mkdir -p "$OUT"
scripts/setup.sh && scripts/build.sh >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
(cd "${BUILD_DIR:-build}" && ctest -j8 --output-on-failure) >"$OUT/tests.log" 2>&1
tests_rc=$?
PYTHONPATH=$PWD/${BUILD_DIR:-build}/python python3 bench/bench.py --out "$OUT" "$@" >"$OUT/bench.log" 2>&1
bench_rc=$?
echo "==== summary ($(python3 -c 'import torch;print(torch.cuda.get_device_name())'))"
grep -E "tests passed|tests failed|Failed|Not Run" "$OUT/tests.log" | tail -20
[ -f "$OUT/bench.md" ] && cat "$OUT/bench.md"
[ $bench_rc -eq 0 ] || tail -20 "$OUT/bench.log"
exit $(( tests_rc || bench_rc ))
