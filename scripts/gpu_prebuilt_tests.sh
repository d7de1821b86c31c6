#!/usr/bin/env bash
# On the GPU machine, when a device call has no time for a build: runs C++ test binaries built on
# the development machine (same torch and cuDNN wheels, sm_90a) and carried over with the call,
# e.g. carry ["build/bin/cuda_conv_test", "build/lib/libtrtorch_cuda.so", "build/lib/libtrtorch_core.so"]:
#   scripts/gpu_prebuilt_tests.sh cuda_conv_test cuda_backend_test
# The binaries' run paths name the development machine's cuDNN; this finds the GPU machine's (its
# torch's nvidia-cudnn wheel) and CUDA's libraries instead. The Python module cannot travel this
# way (the machines' Pythons differ). Logs go to $OUT (default out/gpu_prebuilt).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_prebuilt}
mkdir -p "$OUT"
BUILD=${BUILD_DIR:-build}
cudnn=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0] + '/lib')" 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/$BUILD/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib${cudnn:+:$cudnn}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
rc=0
for t in "$@"; do
  bin="$BUILD/bin/$t"
  [ -x "$bin" ] || { echo "$t: no $bin (carry it)"; rc=1; continue; }
  missing=$(ldd "$bin" | grep "not found")
  [ -z "$missing" ] || { echo "$t: libraries not found:"; echo "$missing"; rc=1; continue; }
  (cd "$BUILD" && timeout "${TCAP:-300}" "bin/$t") >"$OUT/$t.log" 2>&1
  r=$?
  echo "$t: exit $r; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/$t.log" | tr '\n' ' ')"
  grep -A4 "Failure" "$OUT/$t.log" | head -30
  [ $r -eq 0 ] || rc=1
done
exit $rc
