#!/usr/bin/env bash
# Runs Auger's whole test suite on a fresh machine. It needs Go and git (the tests run
# a real `git http-backend` smart-HTTP server); the Go module proxy provides the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in go git; do
  command -v "$tool" >/dev/null || { echo "test: $tool is required" >&2; exit 1; }
done
git_exec=$(git --exec-path)
[ -x "$git_exec/git-http-backend" ] || { echo "test: git-http-backend not found in $git_exec (install git's full package)" >&2; exit 1; }
# The dashboard's browser tests drive Debian's Chromium (headless).
if ! command -v chromium >/dev/null && [ -z "${AUGER_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: the browser tests need Chromium: install Debian's chromium package (or set AUGER_CHROMIUM)" >&2; exit 1
  fi
fi
# The end-to-end tests run a real control plane (etcd, kube-apiserver, controller manager,
# scheduler, kwok's fake nodes) and Flux's controllers, built once into ~/.cache/auger/k8s (about 25
# minutes cold on 2 cores; 0.2 s when cached).
AUGER_K8S_BINARIES=$(./scripts/k8s-binaries.sh); export AUGER_K8S_BINARIES

go mod download
./scripts/lint.sh
go test -count=1 ./...
# The gitops writer is concurrent by design: run it under the race detector too.
go test -count=1 -race ./gitops/
