#!/usr/bin/env bash
# Regenerates the supported-operator block of README.md from the converter registry.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
ninja -C "$BUILD" trtorch_list_ops >/dev/null
python3 - "$BUILD/bin/trtorch_list_ops" <<'PY'
import re, subprocess, sys
block = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
readme = open("README.md").read()
new = re.sub(r"<!-- supported-ops:begin.*?<!-- supported-ops:end -->\n", lambda m: block, readme, flags=re.S)
open("README.md", "w").write(new)
PY
echo "README.md updated"
