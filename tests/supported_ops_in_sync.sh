#!/usr/bin/env bash
# Fails when the generated block of docs/supported_ops.md (between its supported-ops markers)
# differs from what the converter registry prints, or when the block is missing.
#   tests/supported_ops_in_sync.sh path/to/trtorch_list_ops path/to/docs/supported_ops.md
# Run scripts/update_supported_ops.sh to regenerate the block.
set -euo pipefail
list_ops=$1 doc=$2
block=$(sed -n '/<!-- supported-ops:begin/,/<!-- supported-ops:end -->/p' "$doc")
[ -n "$block" ] || { echo "$doc has no supported-ops block: run scripts/update_supported_ops.sh"; exit 1; }
diff <("$list_ops") <(printf '%s\n' "$block") \
  || { echo "$doc is stale (the diff above is registry vs file): run scripts/update_supported_ops.sh"; exit 1; }
echo "$doc matches the converter registry"
