// Package cluster runs a real Kubernetes control plane for end-to-end tests of Auger's agent
// and of the whole release loop: etcd and kube-apiserver always; on request (Options)
// kube-controller-manager, kube-scheduler and kwok with fake nodes, so Deployments roll out into
// pods that go Running and Ready with no container run; and Flux's source-controller and
// kustomize-controller with their CRDs, so a gitops repository is fetched and applied.
//
// The binaries are not downloaded at test time: scripts/k8s-binaries.sh builds them once from
// the Go module proxy into a cache folder, and scripts/test.sh exports that folder as
// $AUGER_K8S_BINARIES. To run such tests by hand:
//
//	export AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh)
//	go test ./...
//
// With Start alone no controller runs: nothing creates ReplicaSets for Deployments, Pods for
// ReplicaSets, service accounts or endpoints, and nothing updates statuses. Tests create those
// objects themselves (statuses through the status subresource) when the code under test needs
// them.
package cluster
