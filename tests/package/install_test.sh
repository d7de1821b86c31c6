#!/usr/bin/env bash
# The C++ package (issue 22, item 2): cmake --install the build tree into a fresh prefix, build
# examples/cmake_consumer against it with find_package(trtorch), compile a TorchScript module with
# the installed compiler, and run it with a program that links only trtorch::runtime.
#   tests/package/install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?source dir} build=${2:?build dir}
work=$(mktemp -d "${TMPDIR:-/tmp}/trtorch_install_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/lib/cmake/trtorch/trtorchConfig.cmake" || { echo "no trtorchConfig.cmake installed"; exit 1; }
test -f "$work/prefix/include/trtorch/trtorch.h" || { echo "no trtorch/trtorch.h installed"; exit 1; }
cmake -S "$src/examples/cmake_consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix;$torch_prefix" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
# The runtime-only program needs the runtime library and not the compiler's.
needed=$(readelf -d "$work/consumer/run_module" | grep NEEDED)
echo "$needed" | grep -q "libtrtorch_runtime.so" || { echo "run_module does not need libtrtorch_runtime.so:"; echo "$needed"; exit 1; }
if echo "$needed" | grep -q "libtrtorch.so"; then echo "run_module links the compiler library"; exit 1; fi
device=$(python3 -c 'import torch;print("cuda" if torch.cuda.is_available() else "cpu")')
python3 - "$work/model.ts" <<'PY'
import sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                        torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()
torch.jit.save(torch.jit.script(m), sys.argv[1])
PY
"$work/consumer/compile_module" "$work/model.ts" "$work/model_trt.ts" 2 3 16 16
"$work/consumer/run_module" "$work/model_trt.ts" "$work/model.ts" "$device" 2 3 16 16
echo "OK: installed package found, consumer built, module compiled and run ($device)"
