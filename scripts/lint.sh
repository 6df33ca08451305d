#!/usr/bin/env bash
# Static checks, each of which must find nothing: go vet, staticcheck, and deadcode from
# the main package and every test (no function that nothing runs). The tools are pinned
# and run with `go run tool@version`, so they come from the Go module proxy and leave
# go.mod alone. scripts/test.sh runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2 # staticcheck 2026.2.2, for Go 1.26
deadcode=golang.org/x/tools/cmd/deadcode@v0.52.0

go vet ./...
go run "$staticcheck" ./...
dead=$(go run "$deadcode" -test ./...)
if [ -n "$dead" ]; then
  printf '%s\n' "$dead" >&2
  echo "lint: deadcode lists functions that neither the program nor a test reaches: remove them" >&2
  exit 1
fi
