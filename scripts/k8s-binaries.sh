#!/usr/bin/env bash
# Builds and caches the kube-apiserver and etcd binaries that the agent's end-to-end tests run
# (package internal/cluster). The only registry reachable here is the Go module proxy, so both
# are built from source with Go rather than downloaded as release archives.
#
# Usage: scripts/k8s-binaries.sh [DEST]
#   DEST defaults to .cache/k8s at the repository root (git-ignored). Progress goes to stderr;
#   the absolute path of DEST is the only line printed on stdout, so callers can capture it:
#     AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh)
#
# Idempotent: a binary is rebuilt only when it is missing or its --version is not the pinned
# one. Each binary is built in its own throw-away Go module under DEST, never in Auger's go.mod.
# Cold costs on a 2-core machine: kube-apiserver about 5.5 minutes and 2.8 GB of memory, etcd
# under a minute.
set -euo pipefail

# Pinned versions: bump them here (the staging modules follow K8S_VERSION, see below).
K8S_VERSION=v1.37.0
ETCD_VERSION=v3.6.16

die() {
	echo "k8s-binaries: error: $*" >&2
	exit 1
}
log() { echo "k8s-binaries: $*" >&2; }

command -v go >/dev/null || die "go is required (https://go.dev/doc/install)"

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.cache/k8s}
mkdir -p "$dest" || die "cannot create $dest"
dest=$(cd "$dest" && pwd)

# Two test runs starting at once would both spend minutes building the same files: the second
# one waits for the first and then finds the binaries in place.
if command -v flock >/dev/null; then
	exec 9>"$dest/.lock"
	flock 9
fi

# Builds stay out of reach of Auger's go.mod/go.work and of settings such as GOFLAGS=-mod=vendor
# that would make no sense in a scratch module. CGO is off because a fresh machine may have no C
# compiler, and upstream ships both binaries statically linked anyway.
export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0

work=""
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# new_module NAME: creates an empty scratch module under DEST and cds into it.
new_module() {
	cleanup
	work=$(mktemp -d "$dest/build-$1.XXXXXX")
	cd "$work"
	go mod init "auger.local/k8s-binaries/$1" >/dev/null 2>&1 || die "go mod init failed in $work"
}

# has_version BINARY EXPECTED: true when BINARY exists and its --version output contains EXPECTED.
has_version() {
	[ -x "$1" ] || return 1
	local out
	out=$("$1" --version 2>&1) || return 1
	grep -qF -- "$2" <<<"$out"
}

# install_binary BUILT FINAL EXPECTED: checks the fresh build, then moves it in place in one
# rename so that an interrupted run never leaves a half-written binary behind.
install_binary() {
	has_version "$1" "$3" || die "$1 was built but its --version does not print '$3': $("$1" --version 2>&1 | head -3)"
	mv -f "$1" "$2"
}

build_etcd() {
	local bin=$dest/etcd want="etcd Version: ${ETCD_VERSION#v}"
	if has_version "$bin" "$want"; then
		log "etcd $ETCD_VERSION already built"
		return
	fi
	log "building etcd $ETCD_VERSION (under a minute when cold)..."
	local start=$SECONDS
	new_module etcd
	# The etcd server's main package is the root of the go.etcd.io/etcd/server/v3 module.
	go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 ||
		die "go get go.etcd.io/etcd/server/v3@$ETCD_VERSION failed (is the Go module proxy reachable?)"
	go build -trimpath -ldflags "-s -w" -o "$dest/etcd.new" go.etcd.io/etcd/server/v3 >&2 ||
		die "building etcd $ETCD_VERSION failed"
	install_binary "$dest/etcd.new" "$bin" "$want"
	log "etcd $ETCD_VERSION built in $((SECONDS - start)) s: $(du -h "$bin" | cut -f1)"
}

build_kube_apiserver() {
	local bin=$dest/kube-apiserver want="Kubernetes $K8S_VERSION"
	if has_version "$bin" "$want"; then
		log "kube-apiserver $K8S_VERSION already built"
		return
	fi
	log "building kube-apiserver $K8S_VERSION (about 5.5 minutes and 2.8 GB of memory when cold)..."
	local start=$SECONDS
	new_module kube-apiserver

	# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at
	# v0.0.0 and replaces them with ./staging/src/... directories. Replace directives of a
	# dependency are ignored, so this module must give its own: each staging module is published
	# on its own as v0.X.Y for Kubernetes v1.X.Y. The list comes from the pinned go.mod rather
	# than being hard-coded, since it changes between releases.
	local gomod
	gomod=$(go list -m -f '{{.GoMod}}' "k8s.io/kubernetes@$K8S_VERSION") && [ -f "$gomod" ] ||
		die "cannot fetch the go.mod of k8s.io/kubernetes@$K8S_VERSION (is the Go module proxy reachable?)"
	local staging_version=v0.${K8S_VERSION#v1.} staging
	staging=$(sed -nE 's#^[[:space:]]*(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\1#p' "$gomod")
	[ -n "$staging" ] || die "found no './staging' replace directives in $gomod: has the layout of k8s.io/kubernetes changed?"
	local args=() m
	for m in $staging; do
		args+=("-replace=$m=$m@$staging_version")
	done
	go mod edit "${args[@]}" || die "go mod edit failed"
	log "replaced $(wc -w <<<"$staging") staging modules with their $staging_version releases"

	go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" >&2 ||
		die "go get k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION failed"

	# Without the version stamp the server reports v0.0.0-master, which clients (and the
	# apiserver's own compatibility checks) fail to parse or reject.
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ldflags="-s -w"
	ldflags+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
	ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
	go build -trimpath -ldflags "$ldflags" -o "$dest/kube-apiserver.new" k8s.io/kubernetes/cmd/kube-apiserver >&2 ||
		die "building kube-apiserver $K8S_VERSION failed (it needs about 2.8 GB of free memory)"
	install_binary "$dest/kube-apiserver.new" "$bin" "$want"
	log "kube-apiserver $K8S_VERSION built in $((SECONDS - start)) s: $(du -h "$bin" | cut -f1)"
}

# etcd first: it is quick, so a broken proxy or toolchain shows up before the long build.
build_etcd
build_kube_apiserver
echo "$dest"
