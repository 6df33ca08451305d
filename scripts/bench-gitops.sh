#!/bin/sh
# Benchmarks of gitops writes on a generated repository of 20,000 files in 200 folders
# with 2,000 commits, served by `git http-backend` over smart HTTP on loopback:
#   - `auger release` as a whole process, from an empty cache (cold) and a warm one,
#     against the git CLI flow (shallow blob-less clone, sparse checkout, copy, commit,
#     push), interleaved, medians and peak resident memory (AUGER_BENCH_RUNS runs each),
#     against a server that offers partial clone (as GitHub does) and one that does not;
#   - one release write and one app's release log inside a process.
# Figures are in README.md ("Performance") and docs/gitops-writes.md.
set -eu
cd "$(dirname "$0")/.."
AUGER_BENCH_RUNS=9 go test -run '^$' -bench 'ReleaseProcess' -benchtime 1x ./gitops/
AUGER_BENCH_RUNS=9 AUGER_BENCH_PARTIAL=false go test -run '^$' -bench 'ReleaseProcess' -benchtime 1x ./gitops/
go test -run '^$' -bench 'ReleaseWrite|ReleaseLog' ./gitops/
