#!/usr/bin/env bash
# Fails when the README's supported-operator list differs from what the registry prints.
# Run scripts/update_readme_ops.sh to regenerate it.
set -euo pipefail
list_ops=$1 readme=$2
diff <("$list_ops") <(sed -n '/<!-- supported-ops:begin/,/<!-- supported-ops:end -->/p' "$readme") \
  || { echo "README.md's supported-op list is stale: run scripts/update_readme_ops.sh"; exit 1; }
echo "README supported-op list matches the registry"
