#!/usr/bin/env bash
# CTest python_serving: runs tests/serving/test_pytriton.py in the serving virtual environment
# (.venv-serving, made by scripts/setup.sh with nvidia-pytriton; the system's torch through
# --system-site-packages). Where that environment could not be made (the GPU machine has no
# network to install nvidia-pytriton), the test is skipped (exit 77) saying so.
#   tests/serving/run.sh SOURCE_DIR
set -uo pipefail
SRC=$1
PY=$SRC/.venv-serving/bin/python
if ! [ -x "$PY" ] || ! "$PY" -c "import pytriton, tritonclient" 2>/dev/null; then
  if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
    echo "FAIL: $SRC/.venv-serving with nvidia-pytriton is missing (scripts/setup.sh makes it)"; exit 1
  fi
  echo "SKIPPED: nvidia-pytriton is not installed in $SRC/.venv-serving (scripts/setup.sh could not install it here)"
  exit 77
fi
exec "$PY" -m pytest -q -s -p no:cacheprovider "$SRC/tests/serving/test_pytriton.py"
