package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/artifact"
)

var testRelease = Release{
	ArtifactID: "mycompany/frontend-5d3c9a0e-8f2b-4c61-9a7e-2b4f6d8e1c30",
	Repository: "mycompany/frontend",
	SHA:        "3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
}

// repoRoot is the repository root, the work directory of the examples.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func newRenderer(t testing.TB, opts Options) *Renderer {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	if opts.WorkDir == "" {
		opts.WorkDir = repoRoot(t)
	}
	r, err := NewRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// webEnv is an env config of the example chart, values as an artifact decodes them.
func webEnv(chart artifact.Chart) artifact.EnvConfig {
	return artifact.EnvConfig{
		App: "frontend", Env: "staging", Namespace: "staging",
		Chart: chart,
		Values: map[string]any{
			"image":    map[string]any{"repository": "ghcr.io/mycompany/frontend", "tag": testRelease.SHA},
			"replicas": json.Number("2"),
			"ingress":  map[string]any{"host": "frontend.staging.example.com", "tlsEnabled": true},
			"probe":    map[string]any{"enabled": true},
			"vars":     map[string]any{"NODE_ENV": "production", "RATIO": json.Number("0.25"), "BIG": json.Number("9007199254740993")},
		},
	}
}

var localWeb = artifact.Chart{Name: "examples/charts/web"}

// objects parses rendered files back, keyed by file name.
func objects(t testing.TB, files []File) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, f := range files {
		var obj map[string]any
		if err := yaml.Unmarshal(f.Data, &obj); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = obj
	}
	return out
}

func names(files []File) []string {
	var n []string
	for _, f := range files {
		n = append(n, f.Name)
	}
	return n
}

// get walks obj along path.
func get(obj any, path ...string) any {
	for _, p := range path {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[p]
	}
	return obj
}

func TestRenderLocalChart(t *testing.T) {
	r := newRenderer(t, Options{})
	files, err := r.Render(context.Background(), webEnv(localWeb), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"configmap-frontend.yaml", "deployment-frontend.yaml", "ingress-frontend.yaml", "service-frontend.yaml"}
	if got := names(files); !reflect.DeepEqual(got, want) {
		t.Fatalf("files = %q, want %q (NOTES.txt and helpers dropped, sorted)", got, want)
	}
	objs := objects(t, files)
	dep := objs["deployment-frontend.yaml"]
	if got := get(dep, "spec", "replicas"); got != float64(2) {
		t.Errorf("replicas = %#v, want the number 2", got)
	}
	if !bytes.Contains(files[1].Data, []byte("\n  replicas: 2\n")) {
		t.Errorf("deployment does not say replicas: 2:\n%s", files[1].Data)
	}
	if got := get(dep, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]; got != "ghcr.io/mycompany/frontend:"+testRelease.SHA {
		t.Errorf("image = %v", got)
	}
	cm := objs["configmap-frontend.yaml"]
	if got := get(cm, "data"); !reflect.DeepEqual(got, map[string]any{"NODE_ENV": "production", "RATIO": "0.25", "BIG": "9007199254740993"}) {
		t.Errorf("configmap data = %v", got)
	}
	for name, obj := range objs {
		if got := get(obj, "metadata", "namespace"); got != "staging" {
			t.Errorf("%s: namespace = %v, want staging", name, got)
		}
		wantLabels := map[string]any{LabelManagedBy: "auger", LabelApp: "frontend", LabelEnv: "staging"}
		for k, v := range wantLabels {
			if got := get(obj, "metadata", "labels", k); got != v {
				t.Errorf("%s: label %s = %v, want %v", name, k, got, v)
			}
		}
		checkAnnotations(t, name, get(obj, "metadata"))
	}
	checkAnnotations(t, "deployment pod template", get(dep, "spec", "template", "metadata"))
	if got := get(dep, "spec", "template", "metadata", "labels", LabelApp); got != "frontend" {
		t.Errorf("pod template label %s = %v", LabelApp, got)
	}
	if got := get(dep, "spec", "template", "metadata", "annotations", "checksum/config"); got == nil {
		t.Error("the chart's own pod template annotation was lost")
	}
	if got := get(dep, "spec", "selector", "matchLabels"); !reflect.DeepEqual(got, map[string]any{"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "frontend"}) {
		t.Errorf("selector changed: %v", got)
	}
}

func checkAnnotations(t *testing.T, what string, meta any) {
	t.Helper()
	want := map[string]string{AnnotationRelease: testRelease.ArtifactID, AnnotationRepository: testRelease.Repository, AnnotationSHA: testRelease.SHA}
	for k, v := range want {
		if got := get(meta, "annotations", k); got != v {
			t.Errorf("%s: annotation %s = %v, want %v", what, k, got, v)
		}
	}
}

func TestRenderKitchenSink(t *testing.T) {
	r := newRenderer(t, Options{})
	ec := artifact.EnvConfig{App: "api", Env: "prod", Namespace: "apps", Chart: artifact.Chart{Name: "manifests/testdata/charts/kitchen"},
		Values: map[string]any{"size": json.Number("3"), "ratio": json.Number("1.5"), "big": json.Number("12345678901234567")}}
	files, err := r.Render(context.Background(), ec, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"clusterrole-api-reader.yaml",                       // ":" is not a file name character
		"cronjob-api-nightly.yaml",                          // pod template marked
		"customresourcedefinition-widgets.example.com.yaml", // from crds/
		"job-api-migrate.yaml",                              // pre-install hook kept
		"namespace-apps.yaml",                               // cluster-scoped: no namespace
		"serviceaccount-api.yaml",                           // keeps kube-system
		"statefulset-api-db.yaml",
		"widget-api.yaml",
	} // the test hook pod and NOTES.txt are dropped
	if got := names(files); !reflect.DeepEqual(got, want) {
		t.Fatalf("files = %q,\nwant %q", got, want)
	}
	objs := objects(t, files)
	namespaces := map[string]any{
		"clusterrole-api-reader.yaml":                       nil,
		"customresourcedefinition-widgets.example.com.yaml": nil,
		"namespace-apps.yaml":                               nil,
		"serviceaccount-api.yaml":                           "kube-system",
		"job-api-migrate.yaml":                              "apps",
		"widget-api.yaml":                                   "apps",
	}
	for name, ns := range namespaces {
		if got := get(objs[name], "metadata", "namespace"); got != ns {
			t.Errorf("%s: namespace = %v, want %v", name, got, ns)
		}
	}
	if got := get(objs["statefulset-api-db.yaml"], "metadata", "labels", LabelManagedBy); got != "auger" {
		t.Errorf("managed-by = %v, want auger over the chart's Helm", got)
	}
	if got := get(objs["statefulset-api-db.yaml"], "spec", "template", "metadata", "labels"); !reflect.DeepEqual(got, map[string]any{"app": "db", LabelManagedBy: "auger", LabelApp: "api", LabelEnv: "prod"}) {
		t.Errorf("statefulset pod labels = %v", got)
	}
	checkAnnotations(t, "statefulset pod template", get(objs["statefulset-api-db.yaml"], "spec", "template", "metadata"))
	checkAnnotations(t, "cronjob pod template", get(objs["cronjob-api-nightly.yaml"], "spec", "jobTemplate", "spec", "template", "metadata"))
	checkAnnotations(t, "cronjob job template", get(objs["cronjob-api-nightly.yaml"], "spec", "jobTemplate", "metadata"))
	checkAnnotations(t, "job pod template", get(objs["job-api-migrate.yaml"], "spec", "template", "metadata"))
	if got := get(objs["job-api-migrate.yaml"], "metadata", "annotations", "helm.sh/hook"); got != "pre-install,pre-upgrade" {
		t.Errorf("hook annotation = %v, want it kept", got)
	}
	if got := get(objs["widget-api.yaml"], "spec", "pod"); got != nil {
		t.Errorf("custom resource got a pod template: %v", got)
	}
	widget := string(files[len(files)-1].Data)
	for _, line := range []string{"  size: 3\n", "  ratio: 1.5\n", "  big: 12345678901234567\n"} {
		if !strings.Contains(widget, line) {
			t.Errorf("widget lacks %q:\n%s", line, widget)
		}
	}
}

func TestRawManifests(t *testing.T) {
	r := newRenderer(t, Options{})
	ec := webEnv(localWeb)
	ec.Manifests = `# extra objects
---
apiVersion: v1
kind: Secret
metadata:
  name: frontend-extra
stringData:
  port: "5000"
---
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: frontend
  namespace: other
spec:
  minAvailable: 1
`
	files, err := r.Render(context.Background(), ec, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)
	if got := get(objs["secret-frontend-extra.yaml"], "metadata", "namespace"); got != "staging" {
		t.Errorf("raw secret namespace = %v", got)
	}
	if got := get(objs["poddisruptionbudget-frontend.yaml"], "metadata", "namespace"); got != "other" {
		t.Errorf("raw pdb namespace = %v", got)
	}
	checkAnnotations(t, "raw secret", get(objs["secret-frontend-extra.yaml"], "metadata"))
	if got := get(objs["secret-frontend-extra.yaml"], "metadata", "labels", LabelEnv); got != "staging" {
		t.Errorf("raw secret env label = %v", got)
	}
	if len(files) != 6 {
		t.Errorf("files = %q", names(files))
	}
}

func TestRawManifestsErrors(t *testing.T) {
	tests := map[string]struct {
		manifests string
		doc, line int
		msg       string
	}{
		"bad indentation in second document": {
			manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   bad: indent\n",
			doc:       2, line: 10, msg: "manifests document 2, line 10:",
		},
		"not an object": {
			manifests: "\n\n- a\n- b\n",
			doc:       1, line: 3, msg: "manifests document 1, line 3: error unmarshaling JSON",
		},
		"leading separator and comment": {
			manifests: "---\n# comment\nkind: [\n",
			doc:       1, line: 3, msg: "manifests document 1, line 3: did not find expected node content",
		},
	}
	r := newRenderer(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ec := webEnv(localWeb)
			ec.Manifests = tc.manifests
			_, err := r.Render(context.Background(), ec, testRelease)
			var me *ManifestsError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *ManifestsError", err)
			}
			if me.Document != tc.doc || me.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (document %d, line %d), want document %d, line %d, %q", err, me.Document, me.Line, tc.doc, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "render chart examples/charts/web for frontend/staging: ") {
				t.Errorf("err = %v, want it to name the chart and env", err)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := map[string]struct {
		ec   artifact.EnvConfig
		want []string
	}{
		"template error names chart, template and line": {
			ec:   artifact.EnvConfig{App: "frontend", Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: "manifests/testdata/charts/broken"}},
			want: []string{"render chart manifests/testdata/charts/broken for frontend/staging: template: broken/templates/configmap.yaml:6:", "nil pointer"},
		},
		"object without kind names the template": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Name: "manifests/testdata/charts/nokind"}},
			want: []string{"nokind/templates/bad.yaml: an object has no kind"},
		},
		"object without name": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: localWeb, Manifests: "kind: ConfigMap\nmetadata:\n  generateName: x-\n"},
			want: []string{"manifests document 1 (line 1): ConfigMap has no metadata.name"},
		},
		"two objects, one file": {
			ec:   artifact.EnvConfig{App: "frontend", Env: "e", Chart: localWeb, Manifests: "kind: Service\napiVersion: v1\nmetadata:\n  name: frontend\n  namespace: x\n"},
			want: []string{"web/templates/service.yaml and manifests document 1 (line 1) both render service-frontend.yaml"},
		},
		"missing dependency": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Name: "manifests/testdata/charts/missingdep"}},
			want: []string{`dependencies ["postgresql"] are declared in Chart.yaml but missing from charts/`},
		},
		"missing local chart": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Name: "no/such/chart"}},
			want: []string{"render chart no/such/chart for a/e: load chart directory"},
		},
		"repository chart without version": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Repository: "https://charts.example.com", Name: "web"}},
			want: []string{"render chart https://charts.example.com web for a/e: chart web from https://charts.example.com has no version"},
		},
		"unknown repository scheme": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Repository: "s3://bucket", Name: "web", Version: "1.0.0"}},
			want: []string{`chart repository "s3://bucket": want https://, http:// or oci://`},
		},
		"git path outside the repository": {
			ec:   artifact.EnvConfig{App: "a", Env: "e", Chart: artifact.Chart{Name: "https://git.example.com/x.git?path=../etc"}},
			want: []string{`path "../etc" must be relative`},
		},
	}
	r := newRenderer(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := r.Render(context.Background(), tc.ec, testRelease)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDependencyConditionsDoNotLeakBetweenRenders(t *testing.T) {
	srv, _ := serveCharts(t, "testdata/charts/parent")
	r := newRenderer(t, Options{})
	ec := artifact.EnvConfig{App: "p", Env: "e", Namespace: "n", Chart: artifact.Chart{Repository: srv.URL, Name: "parent", Version: "1.0.0"}}
	render := func(enabled bool) []string {
		ec.Values = map[string]any{"child": map[string]any{"enabled": enabled}}
		files, err := r.Render(context.Background(), ec, testRelease)
		if err != nil {
			t.Fatal(err)
		}
		return names(files)
	}
	both := []string{"configmap-child.yaml", "configmap-parent.yaml"}
	if got := render(true); !reflect.DeepEqual(got, both) {
		t.Fatalf("enabled: %q", got)
	}
	if got := render(false); !reflect.DeepEqual(got, []string{"configmap-parent.yaml"}) {
		t.Fatalf("disabled: %q", got)
	}
	if got := render(true); !reflect.DeepEqual(got, both) {
		t.Fatalf("enabled after disabled: %q: the cached chart was mutated", got)
	}
}

func TestDeterministic(t *testing.T) {
	srv, _ := serveCharts(t, "../examples/charts/web")
	ec := webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"})
	ec.Manifests = "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: extra\ndata: {b: '2', a: '1'}\n"
	var runs [][]File
	for range 2 {
		r := newRenderer(t, Options{}) // fresh renderer, fresh cache directory
		for range 2 {
			files, err := r.Render(context.Background(), ec, testRelease)
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, files)
		}
	}
	local, err := newRenderer(t, Options{}).Render(context.Background(), func() artifact.EnvConfig { e := ec; e.Chart = localWeb; return e }(), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	runs = append(runs, local)
	for i, run := range runs[1:] {
		if !reflect.DeepEqual(run, runs[0]) {
			t.Errorf("run %d differs from run 0", i+1)
		}
	}
}

func TestExamples(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "artifact.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var a artifact.Artifact
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	if len(a.Environments) != 2 {
		t.Fatalf("environments = %d", len(a.Environments))
	}
	r := newRenderer(t, Options{HTTPClient: noNetwork(t)})
	rel := Release{ArtifactID: a.ID, Repository: a.Version.RepositoryName, SHA: a.Version.SHA}
	for _, ec := range a.Environments {
		t.Run(ec.Env, func(t *testing.T) {
			fromArtifact, err := r.Render(context.Background(), withSHA(ec, a.Version.SHA), rel)
			if err != nil {
				t.Fatal(err)
			}
			if len(fromArtifact) != 4 {
				t.Errorf("files = %q", names(fromArtifact))
			}
			// The .auger/ file says the same as the artifact.
			raw, err := os.ReadFile(filepath.Join(root, "examples", ".auger", ec.Env+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var fileEC artifact.EnvConfig
			if err := yaml.UnmarshalStrict(raw, &fileEC); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fileEC.Chart, ec.Chart) || !reflect.DeepEqual(fileEC.Deploy, ec.Deploy) {
				t.Errorf(".auger/%s.yaml chart/deploy = %+v/%+v, artifact %+v/%+v", ec.Env, fileEC.Chart, fileEC.Deploy, ec.Chart, ec.Deploy)
			}
			fromFile, err := r.Render(context.Background(), withSHA(fileEC, a.Version.SHA), rel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromFile, fromArtifact) {
				t.Errorf(".auger/%s.yaml renders differently from the artifact", ec.Env)
			}
		})
	}
}

// withSHA stands in for the artifact package's templating of values.
func withSHA(ec artifact.EnvConfig, sha string) artifact.EnvConfig {
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range v {
				out[k] = walk(e)
			}
			return out
		case string:
			return strings.ReplaceAll(v, "{{ .SHA }}", sha)
		default:
			return v
		}
	}
	ec.Values = walk(ec.Values).(map[string]any)
	return ec
}

func TestNormalizeValues(t *testing.T) {
	got, err := normalizeValues(map[string]any{
		"int":   json.Number("2"),
		"float": json.Number("0.5"),
		"list":  []any{json.Number("1"), map[any]any{"k": json.Number("3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"int": int64(2), "float": 0.5, "list": []any{int64(1), map[string]any{"k": int64(3)}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestFileName(t *testing.T) {
	tests := map[[2]string]string{
		{"Deployment", "frontend"}:             "deployment-frontend.yaml",
		{"ClusterRole", "system:aggregate_to"}: "clusterrole-system-aggregate-to.yaml",
		{"CustomResourceDefinition", "a.b.c"}:  "customresourcedefinition-a.b.c.yaml",
	}
	for in, want := range tests {
		if got := fileName(in[0], in[1]); got != want {
			t.Errorf("fileName(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
