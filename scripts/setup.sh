#!/usr/bin/env bash
# Installs what trtorch needs to build and test, on either machine of DESIGN.md.
# Idempotent: each step checks first and does nothing when its piece is already there.
#
#  * Debian packages (development machine / CI only): ccache, googletest sources, python3-venv
#  * PyPI, pinned to the GPU machine's versions: torch 2.11.0, torchvision 0.26.0, pybind11, pytest
#  * PyPI: scikit-build-core 0.11.6 and pathspec 1.1.1 (the build backend of `pip install .`,
#    used without build isolation; the python_wheel test). Same rule as transformers below.
#  * PyPI, in the virtual environment .venv-serving (the system's packages visible, so torch is
#    shared): nvidia-pytriton 0.7.0 for the serving test. Same rule as transformers below.
#  * PyPI: transformers 5.17.0 (the BERT and GPT-2 model tests). Required on the development
#    machine / CI (Debian 12); elsewhere (the GPU machine has no network) a failed install only
#    warns, and the model tests skip those models, saying why.
#  * third_party/ (ignored by git): googletest sources, CUTLASS 4.2.0.0 and cudnn-frontend 1.32.0
#    headers, unpacked from their pinned PyPI wheels (sha256 checked), and the handwritten-digits
#    data set (third_party/datasets/digits.csv.gz, UCI's 8x8 digits as scikit-learn 1.7.2 ships
#    them; the INT8 accuracy test trains on it) from scikit-learn's pinned wheel (sha256 checked).
# On the GPU machine (no network) third_party/ travels with the tree and torch is preinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."
TP=third_party
PY=${PYTHON:-python3}
log() { echo "[setup] $*"; }

TORCH_VERSION=2.11.0
TORCHVISION_VERSION=0.26.0
PYBIND11_VERSION=3.1.0
PYTEST_VERSION=9.2.0
TRANSFORMERS_VERSION=5.17.0
SKBUILD_CORE_VERSION=0.11.6  # pip install . (pyproject.toml), with its dependency pathspec
PATHSPEC_VERSION=1.1.1
PYTRITON_VERSION=0.7.0  # the serving test's PyTriton (tritonserver + tritonclient), in .venv-serving
CUTLASS_WHEEL=nvidia_cutlass-4.2.0.0-py3-none-any.whl
CUTLASS_SHA=f9599ada45c7bcb6bf53f7d3f0a7d154183e53451c01bfa59eecd37dd4a693f6
CUDNN_FE_WHEEL=nvidia_cudnn_frontend-1.32.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
CUDNN_FE_SHA=c6006556017a4d1c914c52a556c71b1267f2d6a0500f742e7b4edef539878df0
SKLEARN_WHEEL=scikit_learn-1.7.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
SKLEARN_SHA=89877e19a80c7b11a2891a27c21c4894fb18e2c2e077815bcade10d34287b20d
DIGITS_SHA=09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22

# --- Debian packages ---
if command -v apt-get >/dev/null && [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
  need=()
  command -v ccache >/dev/null || need+=(ccache)
  [ -d /usr/src/googletest ] || need+=(googletest)
  command -v cmake >/dev/null || need+=(cmake)
  command -v ninja >/dev/null || need+=(ninja-build)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

# --- Python packages ---
have_py_pkgs() {
  "$PY" - "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'PYEOF' 2>/dev/null
import sys, importlib
import torch, torchvision, pybind11, pytest
ok = torch.__version__.split("+")[0] == sys.argv[1] and torchvision.__version__.split("+")[0] == sys.argv[2]
sys.exit(0 if ok else 1)
PYEOF
}
if ! have_py_pkgs; then
  log "pip install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION pybind11 pytest"
  "$PY" -m pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
    "pybind11==$PYBIND11_VERSION" "pytest==$PYTEST_VERSION"
fi

# --- transformers (model tests: BERT, GPT-2) ---
have_transformers() {
  "$PY" - "$TRANSFORMERS_VERSION" <<'PYEOF' 2>/dev/null
import sys
import transformers
sys.exit(0 if transformers.__version__ == sys.argv[1] else 1)
PYEOF
}
if ! have_transformers; then
  log "pip install transformers==$TRANSFORMERS_VERSION"
  if ! "$PY" -m pip install -q "transformers==$TRANSFORMERS_VERSION"; then
    if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
      echo "[setup] installing transformers==$TRANSFORMERS_VERSION failed"; exit 1
    fi
    log "warning: transformers==$TRANSFORMERS_VERSION could not be installed; the BERT/GPT-2 model tests will be skipped"
  fi
fi

# --- scikit-build-core (pip install . / the python_wheel test) ---
if ! "$PY" -c "import scikit_build_core, sys; sys.exit(0 if scikit_build_core.__version__ == '$SKBUILD_CORE_VERSION' else 1)" 2>/dev/null; then
  log "pip install scikit-build-core==$SKBUILD_CORE_VERSION pathspec==$PATHSPEC_VERSION"
  if ! "$PY" -m pip install -q --retries 1 --timeout 10 "scikit-build-core==$SKBUILD_CORE_VERSION" "pathspec==$PATHSPEC_VERSION"; then
    if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
      echo "[setup] installing scikit-build-core==$SKBUILD_CORE_VERSION failed"; exit 1
    fi
    log "warning: scikit-build-core==$SKBUILD_CORE_VERSION could not be installed; pip install . and the python_wheel test need it"
  fi
fi

# --- the serving test's virtual environment (nvidia-pytriton and its pins stay out of the main one) ---
# (pip gives up quickly where there is no network, as on the GPU machine: --retries 1 --timeout 10)
SERVING_VENV=.venv-serving
if ! "$SERVING_VENV/bin/python" -c "import pytriton, tritonclient" 2>/dev/null; then
  log "virtual environment $SERVING_VENV: pip install nvidia-pytriton==$PYTRITON_VERSION"
  if ! { "$PY" -m venv --system-site-packages "$SERVING_VENV" &&
         "$SERVING_VENV/bin/python" -m pip install -q --retries 1 --timeout 10 "nvidia-pytriton==$PYTRITON_VERSION"; }; then
    if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
      echo "[setup] installing nvidia-pytriton==$PYTRITON_VERSION into $SERVING_VENV failed"; exit 1
    fi
    log "warning: nvidia-pytriton==$PYTRITON_VERSION could not be installed; the serving test will be skipped"
  fi
fi

# --- third_party: googletest sources ---
mkdir -p "$TP"
if [ ! -f "$TP/googletest/CMakeLists.txt" ]; then
  [ -d /usr/src/googletest ] || { echo "[setup] googletest sources missing (Debian package googletest)"; exit 1; }
  log "copy googletest sources"
  rm -rf "$TP/googletest" && cp -r /usr/src/googletest "$TP/googletest"
fi

# --- third_party: header-only CUTLASS and cudnn-frontend from pinned wheels ---
fetch_wheel() {  # name==version file sha [platform]
  local spec=$1 file=$2 sha=$3 platform=${4:-manylinux_2_28_x86_64}
  mkdir -p "$TP/wheels"
  if [ ! -f "$TP/wheels/$file" ]; then
    log "pip download $spec"
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --platform "$platform" --platform any -d "$TP/wheels" "$spec"
  fi
  echo "$sha  $TP/wheels/$file" | sha256sum -c --quiet - || { echo "[setup] checksum mismatch: $file"; exit 1; }
}
# (the library's include/ and, merged into it, tools/util/include's cutlass/util/: CUTLASS 3's
# convolutions include cutlass/util/packed_stride.hpp)
if [ ! -f "$TP/cutlass/include/cutlass/cutlass.h" ] || [ ! -f "$TP/cutlass/include/cutlass/util/packed_stride.hpp" ]; then
  fetch_wheel nvidia-cutlass==4.2.0.0 "$CUTLASS_WHEEL" "$CUTLASS_SHA"
  log "unpack CUTLASS headers"
  rm -rf "$TP/cutlass" "$TP/tmp_cutlass" && mkdir -p "$TP/tmp_cutlass" "$TP/cutlass"
  unzip -q "$TP/wheels/$CUTLASS_WHEEL" 'cutlass_library/source/include/*' 'cutlass_library/source/tools/util/include/*' \
    -d "$TP/tmp_cutlass"
  mv "$TP/tmp_cutlass/cutlass_library/source/include" "$TP/cutlass/include"
  mv "$TP/tmp_cutlass/cutlass_library/source/tools/util/include/cutlass/util" "$TP/cutlass/include/cutlass/util"
  rm -rf "$TP/tmp_cutlass"
fi
if [ ! -f "$TP/cudnn_frontend/include/cudnn_frontend.h" ]; then
  fetch_wheel nvidia-cudnn-frontend==1.32.0 "$CUDNN_FE_WHEEL" "$CUDNN_FE_SHA"
  log "unpack cudnn-frontend headers"
  rm -rf "$TP/cudnn_frontend" && mkdir -p "$TP/cudnn_frontend"
  unzip -q "$TP/wheels/$CUDNN_FE_WHEEL" 'include/*' -d "$TP/cudnn_frontend"
fi
if [ ! -f "$TP/datasets/digits.csv.gz" ]; then
  fetch_wheel scikit-learn==1.7.2 "$SKLEARN_WHEEL" "$SKLEARN_SHA" manylinux2014_x86_64
  log "unpack the digits data set"
  mkdir -p "$TP/datasets"
  unzip -q -j -o "$TP/wheels/$SKLEARN_WHEEL" 'sklearn/datasets/data/digits.csv.gz' -d "$TP/datasets"
fi
echo "$DIGITS_SHA  $TP/datasets/digits.csv.gz" | sha256sum -c --quiet - || { echo "[setup] checksum mismatch: digits.csv.gz"; exit 1; }
rm -rf "$TP/wheels"
log "ok"
