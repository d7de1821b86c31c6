#!/usr/bin/env bash
# The pip install path (issue 22, item 1), run by CTest as `python_wheel`:
#   pip wheel of the source tree through pyproject.toml (scikit-build-core), reusing the build
#   directory so that nothing is compiled twice; the wheel installed into a fresh virtual
#   environment (the system's torch visible through --system-site-packages); import, compile and
#   run against TorchScript from outside the tree; the `trtorchc` console command compiling a saved
#   module; a wrong torch version refused naming both versions; uninstalled, after which the
#   import fails.
#   tests/package/wheel_test.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
SRC=$1 BUILD=$2 PY=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset PYTHONPATH
"$PY" -c "import scikit_build_core" 2>/dev/null ||
  { echo "FAIL: scikit-build-core is not installed (scripts/setup.sh installs it)"; exit 1; }

echo "== pip wheel"
"$PY" -m pip wheel "$SRC" --no-build-isolation --no-deps -q -w "$tmp/wheel" -Cbuild-dir="$BUILD"
whl=$(ls "$tmp"/wheel/trtorch-*.whl)
echo "built $(basename "$whl")"

echo "== install into a fresh virtual environment"
"$PY" -m venv --system-site-packages "$tmp/venv"
# --system-site-packages shows the base interpreter's packages; where $PY is itself a virtual
# environment (the GPU machine's torch lives in one), its packages are added by a .pth file.
parent=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
child=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ "$parent" = "$child" ] || echo "$parent" > "$child/parent_environment.pth"
"$tmp/venv/bin/python" -m pip install -q --no-deps "$whl"
cd "$tmp"
"$tmp/venv/bin/python" - "$tmp" <<'PYEOF'
import os, sys
import torch
import trtorch
tmp = sys.argv[1]
assert trtorch.__file__.startswith(os.path.join(tmp, "venv")), trtorch.__file__
torch.manual_seed(0)
m = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                         torch.nn.Flatten(), torch.nn.Linear(8 * 8 * 8, 4)).eval())
trt = trtorch.compile(m, {"input_shapes": [[2, 3, 8, 8]], "device": "reference"})
x = torch.randn(2, 3, 8, 8)
err = (trt(x) - m(x)).abs().max().item()
assert err < 1e-4, err
torch.jit.save(m, os.path.join(tmp, "model.ts"))
print("compiled and ran from", os.path.dirname(trtorch.__file__), "max abs err", err)
PYEOF

echo "== trtorchc console command"
"$tmp/venv/bin/trtorchc" "$tmp/model.ts" "$tmp/model_trt.ts" "(2,3,8,8)" --device reference
"$tmp/venv/bin/python" -c "
import torch, trtorch
m = torch.jit.load('$tmp/model_trt.ts'); x = torch.randn(2, 3, 8, 8)
ref = torch.jit.load('$tmp/model.ts')
assert (m(x) - ref(x)).abs().max().item() < 1e-4
print('trtorchc output loads and matches')"

echo "== a different torch version is refused, naming both"
out=$("$tmp/venv/bin/python" -c "
import torch
torch.__version__ = '1.13.1'
import trtorch" 2>&1 || true)
echo "$out" | grep -q "built against torch 2\..* but torch 1.13.1 is imported" ||
  { echo "FAIL: no clear version error: $out"; exit 1; }

echo "== uninstall"
"$tmp/venv/bin/python" -m pip uninstall -q -y trtorch
if "$tmp/venv/bin/python" -c "import trtorch" 2>/dev/null; then echo "FAIL: trtorch still imports"; exit 1; fi
[ ! -e "$tmp/venv/bin/trtorchc" ] || { echo "FAIL: the trtorchc command is still there"; exit 1; }
echo "wheel_test: OK"
