#!/usr/bin/env bash
# On the GPU machine, for a device call of limited length: set-up and build (unless NOBUILD=1, on
# a machine a previous call left warm), then the chosen steps in order, each capped so that the
# whole run ends within DEADLINE seconds (default 570). Logs go to $OUT (default out/gpu_steps).
# BUILD_TARGETS: build only these targets (default all; the CUDA tests and the Python module need
# trtorch_python trtorchc trtorch_run and the test binaries).
#   STEPS="tests int8 digits" scripts/gpu_steps.sh
# Steps and their settings (environment):
#   tests   ctest -R "$TESTS" (default: the CUDA, tactic, errors and GPU Python tests), cap TCAP
#   int8    bench/int8_speed.py $IARGS (default batches 1,32,256, 256 calibration images), cap ICAP
#   digits  tests/python/int8_digits.py --device gpu (the trained model's INT8 accuracy)
#   bt      bench/build_times.py $BARGS (default ResNet-50 batch 32 and a dynamic engine), cap BCAP
#   fam     bench/families.py --with-compile $FARGS, cap FCAP
#   bc      bench/boundary_cost.py --segments 2,4,8 $BCARGS (the cost of an engine boundary; --profile)
#   task    bench/bench.py on a detection and a segmentation model, FP16, with torch.compile
#   bench   bench/bench.py $BENCH_ARGS (any models, batches, precisions, --profile), cap BENCHCAP
#   wheels  installs the wheels carried in .whl/ and .whl2/ (no network there) into $SITE
#           (default /tmp/site, kept while the machine stays warm); split a set over 64 MiB between calls
#   serve   tests/serving/test_pytriton.py on the GPU with the wheels of $SITE (nvidia-pytriton and
#           what it needs that the machine lacks: see examples/serving/README.md)
#   aot     bench/bench.py with a trtorch row per conv_runtime_compilation mode (fallback, the
#           default, auto, always) $AARGS (default ResNet-50 and EfficientNet-B0, batches 1 and 32), cap ACAP
set -u
cd "$(dirname "$0")/.."
T0=$(date +%s)
DEADLINE=${DEADLINE:-570}
OUT=${OUT:-out/gpu_steps}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
elapsed() { echo $(( $(date +%s) - T0 )); }
cap() {  # the step's cap, cut to what is left of the deadline
  local c=$1 l=$(( DEADLINE - $(elapsed) - 5 ))
  [ "$l" -lt "$c" ] && c=$l
  [ "$c" -lt 1 ] && c=1
  echo "$c"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
if [ "${NOBUILD:-0}" != 1 ]; then
  scripts/setup.sh >"$OUT/setup.log" 2>&1 || { tail -20 "$OUT/setup.log"; exit 1; }
  scripts/build.sh ${BUILD_TARGETS:-} >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  echo "build done at $(elapsed) s"
fi
export PYTHONPATH=$PWD/${BUILD_DIR:-build}/python
default_tests='cuda|tactic_format|python_save_load|python_multi_gpu|python_int8|python_gpu_reliability|errors_test'
for s in ${STEPS:-tests}; do
  echo "== $s at $(elapsed) s"
  case $s in
    tests) (cd "${BUILD_DIR:-build}" && timeout "$(cap "${TCAP:-300}")" ctest -j6 --output-on-failure \
              -R "${TESTS:-$default_tests}") >"$OUT/ctest_gpu.log" 2>&1
           grep -E "tests passed|Passed|Failed|\*\*\*" "$OUT/ctest_gpu.log" | tail -40 ;;
    int8) timeout "$(cap "${ICAP:-300}")" python3 bench/int8_speed.py \
            ${IARGS:---batches 1,32,256 --calib-images 256 --iters 50} 2>&1 | tee "$OUT/int8_speed.log" | tail -30 ;;
    digits) timeout "$(cap 150)" python3 tests/python/int8_digits.py --device gpu 2>&1 | tee "$OUT/int8_digits.log" \
              | tail -20 ;;
    bt) timeout "$(cap "${BCAP:-300}")" python3 bench/build_times.py --out "$OUT/build_times" \
          ${BARGS:---models resnet50 --batches 32 --dynamic 8,32} 2>&1 | tee "$OUT/build_times.log" | tail -20 ;;
    fam) timeout "$(cap "${FCAP:-300}")" python3 bench/families.py --with-compile ${FARGS:-} 2>&1 \
           | tee "$OUT/families.log" | tail -30 ;;
    bc) timeout "$(cap 150)" python3 bench/boundary_cost.py --out "$OUT/boundary_cost" --segments 2,4,8 ${BCARGS:-} 2>&1 \
          | tee "$OUT/boundary_cost.log" | tail -${BCTAIL:-20} ;;
    task) timeout "$(cap 300)" python3 bench/bench.py --out "$OUT/task" \
            --models fasterrcnn_mobilenet_v3_large_fpn,fcn_resnet50 --precisions fp16 --batches 1 --with-compile 2>&1 \
            | tee "$OUT/task.log" | tail -20 ;;
    bench) timeout "$(cap "${BENCHCAP:-300}")" python3 bench/bench.py --out "$OUT/bench" ${BENCH_ARGS:-} 2>&1 \
             | tee "$OUT/bench.log" | tail -40 ;;
    wheels) for d in .whl .whl2; do
              ls "$d"/*.whl >/dev/null 2>&1 || continue
              python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "${SITE:-/tmp/site}" \
                "$d"/*.whl 2>&1 | tail -5
            done
            ls "${SITE:-/tmp/site}" 2>/dev/null | tr '\n' ' '; echo ;;
    serve) PYTHONPATH="${SITE:-/tmp/site}:$PYTHONPATH" timeout "$(cap 240)" python3 -m pytest -q -s -p no:cacheprovider \
             tests/serving/test_pytriton.py 2>&1 | tee "$OUT/serve.log" | tail -20 ;;
    aot) timeout "$(cap "${ACAP:-300}")" python3 bench/bench.py --out "$OUT/aot" --precisions fp16 \
           ${AARGS:---models resnet50,efficientnet_b0 --batches 1,32 --iters 100 --error-draws 1} \
           --conv-runtime-compilation auto,always 2>&1 | tee "$OUT/aot.log" | grep "^|" | tail -30 ;;
    *) echo "unknown step $s (tests int8 digits bt fam bc task bench wheels serve aot)"; exit 2 ;;
  esac
done
echo "end at $(elapsed) s"
