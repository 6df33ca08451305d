// Package cluster runs a real Kubernetes control plane (etcd and kube-apiserver, nothing
// else) for end-to-end tests of Auger's agent.
//
// The binaries are not downloaded at test time: scripts/k8s-binaries.sh builds them once from
// the Go module proxy into a cache folder, and scripts/test.sh exports that folder as
// $AUGER_K8S_BINARIES. To run such tests by hand:
//
//	export AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh)
//	go test ./...
//
// No controller runs: nothing creates ReplicaSets for Deployments, Pods for ReplicaSets,
// service accounts or endpoints, and nothing updates statuses. Tests create those objects
// themselves (statuses through the status subresource) when the code under test needs them.
package cluster
