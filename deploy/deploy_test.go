// Package deploy_test builds the manifests in deploy/ with kustomize, as
// `kubectl apply -k deploy/` would, renders the Helm chart in deploy/chart/auger with the
// Helm SDK, as `helm install` would, checks what both promise, and applies both to a real
// kube-apiserver (server-side apply, strict field validation, dry-run).
package deploy_test

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func TestKustomizeBuild(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}
	kinds := map[string]bool{}
	for _, r := range res.Resources() {
		kinds[r.GetKind()+"/"+r.GetName()] = true
		// Everything in auger, but the agent's write right on Flux's objects, which stays
		// beside them in flux-system.
		want := "auger"
		switch {
		case r.GetKind() == "Namespace" || r.GetKind() == "ClusterRole" || r.GetKind() == "ClusterRoleBinding":
			want = ""
		case r.GetName() == "auger-agent-reconcile":
			want = "flux-system"
		}
		if ns := r.GetNamespace(); ns != want {
			t.Errorf("%s/%s is in namespace %q, want %q", r.GetKind(), r.GetName(), ns, want)
		}
	}
	for _, want := range []string{"Namespace/auger", "Deployment/auger-server", "Service/auger-server", "ServiceAccount/auger-server",
		"Deployment/auger-agent", "ServiceAccount/auger-agent", "ClusterRole/auger-agent", "ClusterRoleBinding/auger-agent"} {
		if !kinds[want] {
			t.Errorf("deploy/ lacks %s (has %v)", want, kinds)
		}
	}
	yaml, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	out := string(yaml)
	// The agent only reads.
	role := out[strings.Index(out, "kind: ClusterRole\n"):]
	role = role[:strings.Index(role, "---")]
	for _, verb := range []string{"create", "update", "patch", "delete", "\"*\"", "- '*'"} {
		if strings.Contains(role, verb) {
			t.Errorf("the agent's ClusterRole grants %s:\n%s", verb, role)
		}
	}
	for _, want := range []string{"runAsNonRoot: true", "readOnlyRootFilesystem: true", "image: ghcr.io/auger-dev/auger:latest", "automountServiceAccountToken: false"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy/ lacks %q", want)
		}
	}
}
