package manifests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/chartrepo"
)

// Compare reports added, removed and changed objects in name order, and leaves out
// Helm's checksum annotations and Auger's release annotations, on objects and in pod
// templates alike.
func TestCompare(t *testing.T) {
	deployment := func(replicas int, sha, checksum string) []byte {
		return fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata:
  annotations: {auger.dev/release: r-%[2]s, auger.dev/sha: %[2]s, auger.dev/repository: o/r}
  name: web
spec:
  replicas: %[1]d
  template:
    metadata:
      annotations: {checksum/config: %[3]s, auger.dev/sha: %[2]s, team: web}
`, replicas, sha, checksum)
	}
	before := map[string][]byte{
		"deployment-web.yaml": deployment(1, "aaa", "c1"),
		"service-web.yaml":    []byte("kind: Service\nmetadata: {name: web}\n"),
		"configmap-web.yaml":  []byte("kind: ConfigMap\nmetadata: {name: web, annotations: {checksum/x: keep-me-out}}\ndata: {metadata: {annotations: {checksum/y: data}}}\n"),
	}
	t.Run("only volatile annotations differ", func(t *testing.T) {
		after := map[string][]byte{
			"deployment-web.yaml": deployment(1, "bbb", "c2"),
			"service-web.yaml":    before["service-web.yaml"],
			"configmap-web.yaml":  []byte("kind: ConfigMap\nmetadata: {name: web, annotations: {checksum/x: other}}\ndata: {metadata: {annotations: {checksum/y: data}}}\n"),
		}
		if changes := Compare(before, after); len(changes) != 0 {
			t.Errorf("changes = %+v, want none", changes)
		}
	})
	t.Run("added, removed, changed", func(t *testing.T) {
		after := map[string][]byte{
			"deployment-web.yaml": deployment(3, "bbb", "c2"),
			"ingress-web.yaml":    []byte("kind: Ingress\nmetadata: {name: web}\n"),
			"configmap-web.yaml":  []byte("kind: ConfigMap\nmetadata: {name: web}\ndata: {metadata: {annotations: {checksum/y: changed}}}\n"),
		}
		var got []string
		for _, c := range Compare(before, after) {
			got = append(got, string(c.Kind)+" "+c.File)
		}
		if want := "changed configmap-web.yaml,changed deployment-web.yaml,added ingress-web.yaml,removed service-web.yaml"; strings.Join(got, ",") != want {
			t.Fatalf("changes = %v, want %s", got, want)
		}
		changes := Compare(before, after)
		if d := changes[1].Diff; !strings.Contains(d, "-  replicas: 1\n+  replicas: 3\n") || strings.Contains(d, "auger.dev/sha") || strings.Contains(d, "checksum/config") {
			t.Errorf("deployment diff:\n%s", d)
		}
		if d := changes[0].Diff; !strings.Contains(d, "checksum/y: changed") {
			t.Errorf("a checksum/ key in data is data, not an annotation:\n%s", d)
		}
		if d := changes[2].Diff; !strings.HasPrefix(d, "--- a/ingress-web.yaml\n+++ b/ingress-web.yaml\n@@ -0,0 +1,") || !strings.Contains(d, "+kind: Ingress") {
			t.Errorf("added diff:\n%s", d)
		}
	})
}

// BenchmarkRenderAndDiff renders a 50-object app (the app chart and 46 raw objects)
// warm and compares it with its previous release: the work of one /diff or `auger
// diff` once the chart is cached.
func BenchmarkRenderAndDiff(b *testing.B) {
	var raw strings.Builder
	for i := range 46 {
		fmt.Fprintf(&raw, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra-%02d}\ndata: {A: \"1\", B: two, C: \"%d\"}\n", i, i)
	}
	ec := artifact.EnvConfig{App: "web", Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: chartrepo.AppChart(b)},
		Values:    map[string]any{"replicas": json.Number("2"), "ingress": map[string]any{"host": "web.example.com"}, "vars": map[string]any{"A": "1"}},
		Manifests: raw.String(),
	}
	r := newRenderer(b, Options{})
	ctx := context.Background()
	previous, err := r.Render(ctx, ec, testRelease)
	if err != nil {
		b.Fatal(err)
	}
	if len(previous) != 50 {
		b.Fatalf("%d objects, want 50", len(previous))
	}
	before := map[string][]byte{}
	for _, f := range previous {
		before[f.Name] = f.Data
	}
	ec.Values["replicas"] = json.Number("3")
	next := Release{ArtifactID: "mycompany/frontend-next", Repository: testRelease.Repository, SHA: "4b18e512dba79e4c8300dd08aeb37f8e728b8dad"}
	b.ResetTimer()
	for b.Loop() {
		files, err := r.Render(ctx, ec, next) // another commit: Auger's annotations differ everywhere
		if err != nil {
			b.Fatal(err)
		}
		after := make(map[string][]byte, len(files))
		for _, f := range files {
			after[f.Name] = f.Data
		}
		if changes := Compare(before, after); len(changes) != 1 {
			b.Fatalf("%d changes, want 1", len(changes))
		}
	}
}
