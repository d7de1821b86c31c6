#!/usr/bin/env bash
# One configuration surface (docs/architecture.md, "Configuration"): the environment is read only
# through core/util/debug.h, and docs/debugging.md describes every switch of its table.
#   tests/config_in_one_place.sh <source root>
set -uo pipefail
root=${1:?source root}
cd "$root"
fail=0
# Any getenv / os.environ read outside core/util/debug.* in the library, API and tool sources.
reads=$(grep -rnE 'getenv|secure_getenv|os\.environ|os\.getenv' core cpp py tools \
          --include=*.cpp --include=*.h --include=*.cu --include=*.cuh --include=*.py \
        | grep -vE '^core/util/debug\.(h|cpp):' || true)
if [ -n "$reads" ]; then
  echo "environment read outside core/util/debug.h (make it a build option or a debugging switch):"
  echo "$reads"
  fail=1
fi
# Every switch of the table is documented.
switches=$(grep -oE '"TRTORCH_[A-Z0-9_]+"' core/util/debug.h | tr -d '"' | sort -u)
[ -n "$switches" ] || { echo "no TRTORCH_* switches found in core/util/debug.h"; fail=1; }
for s in $switches; do
  grep -q "$s" docs/debugging.md || { echo "docs/debugging.md does not describe $s"; fail=1; }
done
[ $fail -eq 0 ] && echo "OK: $(echo "$switches" | wc -w) debugging switches, all read through core/util/debug.h and documented"
exit $fail
