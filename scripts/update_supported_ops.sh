#!/usr/bin/env bash
# Regenerates the generated block of docs/supported_ops.md (between its supported-ops markers)
# from the converter registry, as build/bin/trtorch_list_ops prints it. The text around the
# markers is kept. tests/supported_ops_in_sync.sh checks the result.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
DOC=docs/supported_ops.md
cmake --build "$BUILD" --target trtorch_list_ops >/dev/null
python3 - "$BUILD/bin/trtorch_list_ops" "$DOC" <<'PY'
import re, subprocess, sys
list_ops, doc = sys.argv[1], sys.argv[2]
block = subprocess.run([list_ops], check=True, capture_output=True, text=True).stdout
text = open(doc).read()
pattern = r"<!-- supported-ops:begin.*?<!-- supported-ops:end -->\n"
if not re.search(pattern, text, flags=re.S):
    sys.exit(doc + ": the supported-ops:begin / supported-ops:end markers are missing")
open(doc, "w").write(re.sub(pattern, lambda m: block, text, flags=re.S))
PY
echo "$DOC updated"
