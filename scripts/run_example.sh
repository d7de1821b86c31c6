#!/usr/bin/env bash
# The main job on the bundled example: make a TorchScript ResNet-18, compile it with trtorch,
# save it, load and run it in a fresh process (linking only the runtime library), and print
# agreement with TorchScript and timings. Pass --fp16 for an FP16 engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh trtorch_example trtorch_run
OUT=${OUT_DIR:-out/example}
mkdir -p "$OUT"
[ -f "$OUT/resnet18.ts" ] || "${PYTHON:-python3}" examples/make_resnet18.py "$OUT/resnet18.ts"
OMP_WAIT_POLICY=passive "${BUILD_DIR:-build}/bin/trtorch_example" "$OUT/resnet18.ts" "$OUT" "$@"
