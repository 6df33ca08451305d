package manifests

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

// Patches apply after Helm with kustomize's filters: strategic merge keeps the
// containers list merged by name, JSON patches address paths; a patch that matches no
// object is an error naming the patch and the line it starts on.
func TestPatches(t *testing.T) {
	const smpSidecar = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext: {readOnlyRootFilesystem: true}
        - name: sidecar
          image: busybox:1.36
`
	tests := map[string]struct {
		smp   string
		json  []artifact.JSON6902Patch
		check func(t *testing.T, objs map[string]map[string]any)
		err   string // substring of the error; with field and line below
		field string
		line  int
	}{
		"strategic merge adds a sidecar and keeps the container": {
			smp: smpSidecar,
			check: func(t *testing.T, objs map[string]map[string]any) {
				containers := dig(objs["deployment-frontend.yaml"], "spec", "template", "spec", "containers").([]any)
				if len(containers) != 2 {
					t.Fatalf("containers = %v, want web and sidecar", containers)
				}
				var web map[string]any
				for _, c := range containers {
					if c := c.(map[string]any); c["name"] == "web" {
						web = c
					}
				}
				if web["image"] != "ghcr.io/mycompany/frontend:"+testRelease.SHA || dig(web, "securityContext", "readOnlyRootFilesystem") != true {
					t.Errorf("web container = %v: the patch must merge into it by name", web)
				}
			},
		},
		"two documents, the second deletes the ingress": {
			smp: "kind: Service\nmetadata: {name: frontend}\nspec: {type: NodePort}\n---\n# the ingress goes\n$patch: delete\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: frontend}\n",
			check: func(t *testing.T, objs map[string]map[string]any) {
				if dig(objs["service-frontend.yaml"], "spec", "type") != "NodePort" {
					t.Errorf("service type = %v", dig(objs["service-frontend.yaml"], "spec", "type"))
				}
				if _, ok := objs["ingress-frontend.yaml"]; ok {
					t.Error("the ingress is still rendered")
				}
			},
		},
		"json patch replaces and adds": {
			json: []artifact.JSON6902Patch{{
				Target: artifact.PatchTarget{Group: "apps", Version: "v1", Kind: "Deployment", Name: "frontend", Namespace: "staging"},
				Patch:  "- op: replace\n  path: /spec/replicas\n  value: 5\n- op: add\n  path: /metadata/labels/team\n  value: web\n",
			}},
			check: func(t *testing.T, objs map[string]map[string]any) {
				d := objs["deployment-frontend.yaml"]
				if r := dig(d, "spec", "replicas"); r != float64(5) {
					t.Errorf("replicas = %v (%T)", r, r)
				}
				if a := dig(d, "metadata", "labels", "team"); a != "web" {
					t.Errorf("label team = %v", a)
				}
				if a := dig(d, "metadata", "annotations", AnnotationRelease); a != testRelease.ArtifactID {
					t.Errorf("Auger's annotation = %v: patches come before Auger's marks", a)
				}
			},
		},
		"json patch as JSON": {
			json: []artifact.JSON6902Patch{{Target: artifact.PatchTarget{Kind: "ConfigMap", Name: "frontend"}, Patch: `[{"op": "remove", "path": "/data/NODE_ENV"}]`}},
			check: func(t *testing.T, objs map[string]map[string]any) {
				if v := dig(objs["configmap-frontend.yaml"], "data", "NODE_ENV"); v != nil {
					t.Errorf("NODE_ENV = %v, want removed", v)
				}
			},
		},
		"json patch as a YAML flow list": {
			json: []artifact.JSON6902Patch{{Target: artifact.PatchTarget{Kind: "Service", Name: "frontend"}, Patch: "[{op: add, path: /spec/type, value: NodePort}]"}},
			check: func(t *testing.T, objs map[string]map[string]any) {
				if v := dig(objs["service-frontend.yaml"], "spec", "type"); v != "NodePort" {
					t.Errorf("service type = %v", v)
				}
			},
		},
		"strategic merge matching nothing": {
			smp: "kind: Service\nmetadata: {name: frontend}\nspec: {type: NodePort}\n---\n\nkind: Deployment\nmetadata:\n  name: backend\n",
			err: "document 2 (Deployment backend): matches no rendered object", field: "strategicMergePatches", line: 6,
		},
		"strategic merge in another namespace": {
			smp: "kind: Deployment\nmetadata: {name: frontend, namespace: production}\n",
			err: "matches no rendered object", field: "strategicMergePatches", line: 1,
		},
		"json patch of another group": {
			json: []artifact.JSON6902Patch{{Target: artifact.PatchTarget{Group: "extensions", Kind: "Deployment", Name: "frontend"}, Patch: "- {op: remove, path: /spec/replicas}"}},
			err:  "Deployment frontend: matches no rendered object", field: "json6902Patches[0]",
		},
		"json patch failing": {
			json: []artifact.JSON6902Patch{{Target: artifact.PatchTarget{Kind: "Service", Name: "frontend"}, Patch: "- {op: replace, path: /spec/nothing/here, value: 1}"}},
			err:  "Service frontend", field: "json6902Patches[0]",
		},
		"json patch malformed": {
			json: []artifact.JSON6902Patch{{Target: artifact.PatchTarget{Kind: "Service", Name: "frontend"}, Patch: "- {op: rename, path: /a}"}},
			err:  "op rename is not one of", field: "json6902Patches[0].patch",
		},
	}
	r := newRenderer(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ec := webEnv(localWeb)
			ec.StrategicMergePatches, ec.JSON6902Patches = tc.smp, tc.json
			files, err := r.Render(context.Background(), ec, testRelease)
			if tc.err != "" {
				var pe *PatchError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.err) || pe.Field() != tc.field || pe.Line != tc.line {
					t.Fatalf("err = %v (%#v), want a PatchError on %s line %d containing %q", err, pe, tc.field, tc.line, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, objects(t, files))
		})
	}
}

// dig follows keys through nested maps; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestParseChartRef(t *testing.T) {
	tests := map[string]struct {
		ref  string
		want artifact.Chart
		err  string
	}{
		"http repository":  {ref: "https://chart.onechart.dev/onechart@0.10.0", want: artifact.Chart{Repository: "https://chart.onechart.dev", Name: "onechart", Version: "0.10.0"}},
		"oci":              {ref: "oci://ghcr.io/org/charts/app@1.2.3", want: artifact.Chart{Repository: "oci://ghcr.io/org/charts", Name: "app", Version: "1.2.3"}},
		"git":              {ref: "https://github.com/org/repo.git?path=charts/app&ref=v1", want: artifact.Chart{Name: "https://github.com/org/repo.git?path=charts/app&ref=v1"}},
		"local":            {ref: "charts/app", want: artifact.Chart{Name: "charts/app"}},
		"no version":       {ref: "https://chart.onechart.dev/onechart", err: "has no version"},
		"@ in the host":    {ref: "https://user@charts.example.com/app", err: "has no version"},
		"nothing":          {ref: "", err: "no chart reference"},
		"name with colons": {ref: "oci://ghcr.io/org/app:1.0@1", err: "is not a chart name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseChartRef(tc.ref)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseChartRef = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// Aliases in a strategic merge patch are refused before kustomize could expand them.
func TestPatchAliasesRefused(t *testing.T) {
	ec := webEnv(localWeb)
	ec.StrategicMergePatches = "kind: Service\nmetadata: {name: frontend, labels: &l {a: b}}\nspec: {selector: *l}\n"
	_, err := newRenderer(t, Options{}).Render(context.Background(), ec, testRelease)
	var pe *PatchError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "aliases") {
		t.Fatalf("err = %v, want a PatchError about aliases", err)
	}
}
