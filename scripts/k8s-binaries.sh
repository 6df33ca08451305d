#!/usr/bin/env bash
# Builds and caches the control plane that the end-to-end tests run (package internal/cluster):
# etcd, kube-apiserver and kube-controller-manager; kwok, which runs fake nodes whose pods go
# through the kubelet's states; and Flux's source-controller and kustomize-controller with their
# CRDs (in DEST/crds). The only registry reachable here is the Go module proxy, so everything is
# built from source with Go rather than downloaded as release archives.
#
# Usage: scripts/k8s-binaries.sh [DEST]
#   DEST defaults to $AUGER_CACHE_DIR/k8s, where AUGER_CACHE_DIR defaults to
#   ${XDG_CACHE_HOME:-~/.cache}/auger: a user cache like Go's own, so a new clone of Auger on
#   the same machine (every CI run is one) finds the binaries built. Progress goes to stderr;
#   the absolute path of DEST is the only line printed on stdout, so callers can capture it:
#     AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh)
#
# Idempotent: a binary is rebuilt only when it is missing or is not the pinned version (its
# --version output, or for binaries without one a DEST/NAME.version stamp written after a
# successful build). Each binary is built in its own throw-away Go module under DEST, never in
# Auger's go.mod.
# Cold costs measured on a shared 2-core machine (load 2-7 from other builds), each with an
# empty Go build cache: etcd under a minute; kube-apiserver 5.5 minutes and 2.8 GB of memory;
# kube-controller-manager 10.5 minutes alone (it shares most packages with the apiserver, so
# after it far less); kube-scheduler 3.2 minutes once those packages are cached; kwok 1.5 to
# 3.5 minutes; source-controller 4.5 minutes; kustomize-controller 3 minutes. A whole cold run
# is about 25 minutes on such a machine. When everything is in place it returns in 0.2 s.
set -euo pipefail

# Pinned versions: bump them here (the staging modules follow K8S_VERSION, see below).
K8S_VERSION=v1.37.0
ETCD_VERSION=v3.6.16
FLUX_SOURCE_VERSION=v1.9.6
FLUX_KUSTOMIZE_VERSION=v1.9.6
KWOK_VERSION=v0.8.0

die() {
	echo "k8s-binaries: error: $*" >&2
	exit 1
}
log() { echo "k8s-binaries: $*" >&2; }

command -v go >/dev/null || die "go is required (https://go.dev/doc/install)"

dest=${1:-${AUGER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/auger}/k8s}
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

# build_kubernetes CMD...: builds the named commands of k8s.io/kubernetes (kube-apiserver,
# kube-controller-manager) that are missing, in one scratch module so they share its packages.
build_kubernetes() {
	local want="Kubernetes $K8S_VERSION" missing=() c
	for c in "$@"; do
		if has_version "$dest/$c" "$want"; then
			log "$c $K8S_VERSION already built"
		else
			missing+=("$c")
		fi
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "building ${missing[*]} $K8S_VERSION (kube-apiserver alone: about 5.5 minutes and 2.8 GB of memory when cold)..."
	local start=$SECONDS
	new_module kubernetes

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

	for c in "${missing[@]}"; do
		go get "k8s.io/kubernetes/cmd/$c@$K8S_VERSION" >&2 ||
			die "go get k8s.io/kubernetes/cmd/$c@$K8S_VERSION failed"
	done

	# Without the version stamp the servers report v0.0.0-master, which clients (and the
	# apiserver's own compatibility checks) fail to parse or reject.
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ldflags="-s -w"
	ldflags+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
	ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
	for c in "${missing[@]}"; do
		local one=$SECONDS
		go build -trimpath -ldflags "$ldflags" -o "$dest/$c.new" "k8s.io/kubernetes/cmd/$c" >&2 ||
			die "building $c $K8S_VERSION failed (kube-apiserver needs about 2.8 GB of free memory)"
		install_binary "$dest/$c.new" "$dest/$c" "$want"
		log "$c $K8S_VERSION built in $((SECONDS - one)) s: $(du -h "$dest/$c" | cut -f1)"
	done
	log "kubernetes binaries built in $((SECONDS - start)) s"
}

# has_stamp NAME VERSION: true when DEST/NAME exists and was built at VERSION by this script.
has_stamp() {
	[ -x "$dest/$1" ] && [ "$(cat "$dest/$1.version" 2>/dev/null)" = "$2" ]
}

# build_flux_controller NAME VERSION [GO GET ARGS...]: builds a Flux controller from its
# module's source. The module replaces its own ./api with the directory of the same name, which a
# build from the module proxy cannot follow as a dependency; so the source is copied, the replace
# dropped (the published .../api module of the same version is the same code) and the main
# package built in place. Extra arguments pin dependencies that the proxy refuses at the version
# the controller asks for. The controller's CRDs are copied into DEST/crds.
build_flux_controller() {
	local name=$1 version=$2
	shift 2
	local module=github.com/fluxcd/$name
	if has_stamp "$name" "$version" && [ -d "$dest/crds/$name" ]; then
		log "$name $version already built"
		return
	fi
	log "building $name $version (a few minutes when cold)..."
	local start=$SECONDS
	new_module "$name"
	local src
	src=$(go mod download -json "$module@$version" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p') && [ -d "$src" ] ||
		die "cannot download $module@$version (is the Go module proxy reachable?)"
	cp -r "$src/." . && chmod -R u+w . || die "cannot copy $src"
	go mod edit -dropreplace "$module/api" || die "go mod edit failed for $name"
	if [ $# -gt 0 ]; then
		go get "$@" >&2 || die "go get $* failed for $name"
	fi
	go build -mod=mod -trimpath -ldflags "-s -w" -o "$dest/$name.new" . >&2 ||
		die "building $name $version failed"
	rm -rf "$dest/crds/$name.new"
	mkdir -p "$dest/crds/$name.new"
	cp config/crd/bases/*.yaml "$dest/crds/$name.new/" || die "$name $version has no CRDs in config/crd/bases"
	rm -rf "$dest/crds/$name"
	mv "$dest/crds/$name.new" "$dest/crds/$name"
	mv -f "$dest/$name.new" "$dest/$name"
	echo "$version" >"$dest/$name.version"
	log "$name $version built in $((SECONDS - start)) s: $(du -h "$dest/$name" | cut -f1)"
}

# build_kwok builds kwok and copies kwok's own stages (how a fake node becomes Ready, how a pod
# on it is scheduled, runs, becomes Ready and is deleted) into DEST/kwok-stages: kwok run on its
# own has no default stages.
build_kwok() {
	if has_stamp kwok "$KWOK_VERSION" && [ -d "$dest/kwok-stages" ]; then
		log "kwok $KWOK_VERSION already built"
		return
	fi
	log "building kwok $KWOK_VERSION..."
	local start=$SECONDS
	new_module kwok
	GOBIN=$work/bin go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2 ||
		die "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION failed"
	local src
	src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p') && [ -d "$src" ] ||
		die "cannot download sigs.k8s.io/kwok@$KWOK_VERSION"
	rm -rf "$dest/kwok-stages.new"
	mkdir -p "$dest/kwok-stages.new"
	cp "$src/kustomize/stage/node/fast/node-initialize.yaml" "$src"/kustomize/stage/pod/fast/pod-{ready,complete,delete}.yaml "$dest/kwok-stages.new/" ||
		die "kwok $KWOK_VERSION no longer has its stages in kustomize/stage/{node,pod}/fast"
	rm -rf "$dest/kwok-stages"
	mv "$dest/kwok-stages.new" "$dest/kwok-stages"
	mv -f "$work/bin/kwok" "$dest/kwok"
	echo "$KWOK_VERSION" >"$dest/kwok.version"
	log "kwok $KWOK_VERSION built in $((SECONDS - start)) s: $(du -h "$dest/kwok" | cut -f1)"
}

# etcd first: it is quick, so a broken proxy or toolchain shows up before the long build.
build_etcd
build_kubernetes kube-apiserver kube-controller-manager kube-scheduler
build_kwok
build_flux_controller source-controller "$FLUX_SOURCE_VERSION" github.com/fluxcd/pkg/artifact@v0.18.0
build_flux_controller kustomize-controller "$FLUX_KUSTOMIZE_VERSION"
echo "$dest"
