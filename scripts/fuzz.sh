#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10m), one after the other, and prints
# the figures. Not part of CI: run it by hand, e.g. `FUZZTIME=10m ./scripts/fuzz.sh`.
# A finding is kept by Go under testdata/fuzz/<target>/ of its package: commit it as a
# regression case once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
PARALLEL=${PARALLEL:-1}
targets=(
  "./artifact FuzzParse"
  "./artifact FuzzParseEnvConfigs"
  "./artifact FuzzResolve"
  "./commands FuzzParse"
  "./agent FuzzDecodeReport"
)
for t in "${targets[@]}"; do
  set -- $t
  echo "== $1 $2 for $FUZZTIME"
  go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" 2>&1 | tail -3
done
