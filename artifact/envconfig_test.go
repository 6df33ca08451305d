package artifact_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
)

func TestLoadEnvConfigDir(t *testing.T) {
	configs, err := artifact.LoadEnvConfigDir("testdata/app/.auger")
	if err != nil {
		t.Fatalf("LoadEnvConfigDir: %v", err)
	}
	type summary struct{ File, App, Env string }
	var got []summary
	for _, ec := range configs {
		got = append(got, summary{ec.File, ec.App, ec.Env})
	}
	want := []summary{ // files in name order, documents in file order, README.md ignored
		{".auger/preview.yaml", "frontend-{{ sanitizeDNSName .BRANCH }}", "preview"},
		{".auger/production.yml", "frontend", "production"},
		{".auger/production.yml", "api", "production"},
		{".auger/staging.yaml", "frontend", "staging"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("configs = %+v, want %+v", got, want)
	}
	staging := configs[3]
	wantValues := map[string]any{
		"image":     map[string]any{"repository": "ghcr.io/mycompany/frontend", "tag": "{{ .SHA }}"},
		"replicas":  int64(2),
		"resources": map[string]any{"cpu": 0.5},
	}
	if !reflect.DeepEqual(staging.Values, wantValues) {
		t.Errorf("values = %#v, want %#v", staging.Values, wantValues)
	}
	if staging.Deploy == nil || !reflect.DeepEqual(*staging.Deploy, artifact.Deploy{Branch: "main", Event: artifact.EventPush}) {
		t.Errorf("deploy = %+v", staging.Deploy)
	}
	if staging.Chart != (artifact.Chart{Repository: "https://chart.onechart.dev", Name: "onechart", Version: "0.10.0"}) {
		t.Errorf("chart = %+v", staging.Chart)
	}
	if !configs[0].Preview || configs[0].Cleanup == nil || configs[0].Cleanup.Event != artifact.CleanupPRClosed {
		t.Errorf("preview config = %+v", configs[0])
	}
}

func TestLoadEnvConfigDirMissing(t *testing.T) {
	_, err := artifact.LoadEnvConfigDir("testdata/nowhere/.auger")
	if err == nil || !strings.Contains(err.Error(), "no .auger/ folder in ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadEnvConfigDir(missing) = %v", err)
	}
}

func TestLoadEnvConfigDirProblems(t *testing.T) {
	_, err := artifact.LoadEnvConfigDir("testdata/broken/.auger")
	want := `.auger/a.yaml:7: unknown field "replica"; known fields: app, env, namespace, chart, values, manifests, strategicMergePatches, json6902Patches, deploy, cleanup, preview`
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestLoadEnvConfigDirDuplicates(t *testing.T) {
	dir := t.TempDir() + "/.auger"
	writeFiles(t, dir, map[string]string{
		"a.yaml": "app: web\nenv: staging\nnamespace: web\nchart: {name: ./c}\n",
		"b.yaml": "# same again\napp: web\nenv: staging\nnamespace: web2\nchart: {name: ./c}\n",
	})
	_, err := artifact.LoadEnvConfigDir(dir)
	want := `.auger/b.yaml:2: same app "web" and env "staging" as .auger/a.yaml:1`
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

// ParseEnvConfigDir is the folder's rules wherever it is read from: env config files
// only, each file all or nothing, one env config per app and env; problems as values.
func TestParseEnvConfigDir(t *testing.T) {
	ec := func(app string) string { return "app: " + app + "\nenv: staging\nnamespace: n\nchart: {name: ./c}\n" }
	configs, problems := artifact.ParseEnvConfigDir([]artifact.EnvConfigFile{
		{Path: ".auger/README.md", Content: []byte("# not YAML: [\n")},
		{Path: ".auger/a.yaml", Content: []byte(ec("api"))},
		{Path: ".auger/b.yml", Content: []byte(ec("web") + "---\n" + ec("worker") + "replica: 2\n")},
		{Path: ".auger/c.yaml", Content: []byte("# again\n" + ec("api") + "---\n" + ec("cron"))},
		{Path: ".auger/old.json", Content: []byte(`{"app": "old", "env": "staging", "namespace": "n", "chart": {"name": "./c"}}`)},
	})
	var got []string
	for _, c := range configs {
		got = append(got, c.File+":"+c.App)
	}
	if want := ".auger/a.yaml:api .auger/c.yaml:cron"; strings.Join(got, " ") != want {
		t.Errorf("configs = %v, want %s", got, want)
	}
	var ps []string
	for _, p := range problems {
		ps = append(ps, p.String())
	}
	want := []string{
		`.auger/b.yml:10: unknown field "replica"; known fields: app, env, namespace, chart, values, manifests, strategicMergePatches, json6902Patches, deploy, cleanup, preview`,
		`.auger/c.yaml:2: same app "api" and env "staging" as .auger/a.yaml:1`,
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("problems =\n%s\nwant\n%s", strings.Join(ps, "\n"), strings.Join(want, "\n"))
	}
	for name, want := range map[string]bool{"a.yaml": true, ".auger/b.yml": true, "c.YAML": false, "README.md": false, "x.json": false, "yaml": false} {
		if got := artifact.IsEnvConfigFile(name); got != want {
			t.Errorf("IsEnvConfigFile(%q) = %v", name, got)
		}
	}
}

func TestParseEnvConfigs(t *testing.T) {
	const file = ".auger/staging.yaml"
	tests := map[string]struct {
		yaml string
		want string // the whole error; empty for success
		n    int    // configs on success
	}{
		"empty file":                  {yaml: "", n: 0},
		"only comments and documents": {yaml: "# nothing\n---\n---\n", n: 0},
		"several documents": {
			yaml: "---\napp: a\nenv: e\nnamespace: n\nchart: {name: c}\n---\n\n---\napp: b\nenv: e\nnamespace: n\nchart: {name: c}\n...\n",
			n:    2,
		},
		"unknown field has its line": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart:\n  name: c\n  # the repository\n  repo: https://x\n",
			want: file + `:7: chart: unknown field "repo"; known fields: repository, name, version`,
		},
		"unknown field in second document": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\n---\napp: b\nenv: e\nnamespace: n\nchart: {name: c}\nreplica: 2\n",
			want: file + `:10: unknown field "replica"; known fields: app, env, namespace, chart, values, manifests, strategicMergePatches, json6902Patches, deploy, cleanup, preview`,
		},
		"file is not a field": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\nfile: x\n",
			want: file + `:5: unknown field "file"; known fields: app, env, namespace, chart, values, manifests, strategicMergePatches, json6902Patches, deploy, cleanup, preview`,
		},
		"syntax error": {
			yaml: "app: a\nenv: [e\nnamespace: n\n",
			want: file + ":2: did not find expected ',' or ']'",
		},
		"unclosed flow mapping is reported where the input ends": {
			yaml: "{app: a\n",
			want: file + ":2: did not find expected ',' or '}'",
		},
		"block mapping": {
			yaml: "app: a\nchart:\n  name: c\n version: 1\n",
			want: file + ":4: did not find expected key",
		},
		"scanner error on the first line": {
			yaml: "app: b: c\n",
			want: file + ":1: mapping values are not allowed in this context",
		},
		"sequence where a mapping goes on": {
			yaml: "app: a\n- b\n",
			want: file + ":2: did not find expected key",
		},
		"tab indentation": {
			yaml: "app: a\nchart:\n\tname: c\n",
			want: file + ":3: found character that cannot start any token",
		},
		"duplicate key": {
			yaml: "app: a\nenv: e\napp: b\nnamespace: n\nchart: {name: c}\n",
			want: file + `:3: mapping key "app" already defined at line 1`,
		},
		"not a mapping": {
			yaml: "- app: a\n",
			want: file + ":1: expected a mapping of env config fields (app, env, namespace, chart, values, manifests, strategicMergePatches, json6902Patches, deploy, cleanup, preview), got a list",
		},
		"wrong kind": {
			yaml: "app: [a, b]\nenv: e\nnamespace: n\nchart: c\n",
			want: file + ":1: app: expected a single value, got a list\n" + file + `:4: chart: expected a mapping, got "c"`,
		},
		"bad boolean": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\npreview: maybe\n",
			want: file + ":5: cannot unmarshal !!str `maybe` into bool",
		},
		"validation problems at their lines": {
			yaml: "app: Front/End\nenv: e\nnamespace: n\nchart:\n  repository: https://charts.example.com\n  name: c\nvalues:\n  image:\n    tag: '{{ .SHA'\ndeploy: {branch: '[', event: push}\n",
			want: file + `:1: app: "Front/End": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)` + "\n" +
				file + ":4: chart.version: required when chart.repository is set\n" +
				file + ":9: values.image.tag: template: values.image.tag:1: unclosed action\n" +
				file + `:10: deploy.branch: "[": invalid glob pattern`,
		},
		"missing fields are placed at the document": {
			yaml: "# staging\n\nvalues: {a: 1}\n",
			want: file + ":3: app: required\n" + file + ":3: env: required\n" + file + ":3: namespace: required\n" + file + ":3: chart.name: required",
		},
		"not a number JSON can hold": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\nvalues:\n  ratio: .nan\n",
			want: file + ":6: values.ratio: NaN is not a number JSON can hold",
		},
		"duplicates in one file": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\n---\napp: a\nenv: e\nnamespace: n2\nchart: {name: c}\n",
			want: file + `:6: same app "a" and env "e" as ` + file + ":1",
		},
		"scalars in string fields keep their text": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c, version: 1.10}\n",
			n:    1,
		},
		"anchors and merge keys": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: &chart {name: c}\nvalues: {copy: *chart}\ndeploy:\n  <<: {branch: main}\n  event: push\n",
			n:    1,
		},
		"unknown field through a merge key": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: {name: c}\ndeploy:\n  <<: {brunch: main}\n  event: push\n",
			want: file + `:6: deploy: unknown field "brunch"; known fields: branch, tag, event, commitMessagePatterns`,
		},
		"a mapping that merges itself": {
			yaml: "app: a\nenv: e\nnamespace: n\nchart: &c {name: c, <<: *c}\n",
			want: file + ":1: anchor 'c' value contains itself",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			configs, err := artifact.ParseEnvConfigs(file, []byte(tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseEnvConfigs: %v", err)
				}
				if len(configs) != tc.n {
					t.Fatalf("%d configs, want %d", len(configs), tc.n)
				}
				for _, ec := range configs {
					if ec.File != file {
						t.Errorf("File = %q, want %q", ec.File, file)
					}
				}
				return
			}
			var verr *artifact.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want *ValidationError, got %T: %v", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error =\n%s\nwant\n%s", err, tc.want)
			}
			for _, p := range verr.Problems {
				if p.File != file || p.Line == 0 {
					t.Errorf("problem without file and line: %+v", p)
				}
			}
		})
	}
}

func TestParseEnvConfigsValuesAreJSONCompatible(t *testing.T) {
	configs, err := artifact.ParseEnvConfigs("x.yaml", []byte(`
app: a
env: e
namespace: n
chart: {name: c}
values:
  1: one
  true: yes
  nested: {2.5: x, list: [1, 2.0, "3", null, {k: v}]}
  big: 18446744073709551615
  date: 2024-01-02
  when: !!timestamp 2024-01-02T03:04:05Z
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"1":      "one",
		"true":   "yes",
		"nested": map[string]any{"2.5": "x", "list": []any{int64(1), int64(2), "3", nil, map[string]any{"k": "v"}}},
		"big":    uint64(18446744073709551615),
		"date":   "2024-01-02",
		"when":   "2024-01-02T03:04:05Z",
	}
	if got := configs[0].Values; !reflect.DeepEqual(got, want) {
		t.Errorf("values =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseEnvConfigsAliasBomb(t *testing.T) {
	// Billion laughs: nine levels of ten aliases each would expand to 10^9 strings.
	var b strings.Builder
	b.WriteString("app: a\nenv: e\nnamespace: n\nchart: {name: c}\nvalues:\n")
	b.WriteString("  l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := artifact.ParseEnvConfigs("bomb.yaml", []byte(b.String()))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s; an alias bomb must fail fast", elapsed)
	}
	if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("error = %v, want excessive aliasing", err)
	}
}

func TestParseEnvConfigsTooLarge(t *testing.T) {
	_, err := artifact.ParseEnvConfigs("big.yaml", []byte(strings.Repeat("#", 1<<20+1)))
	if err == nil || !strings.Contains(err.Error(), "big.yaml: larger than") {
		t.Errorf("error = %v", err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseEnvConfigsChartVersionText(t *testing.T) {
	configs, err := artifact.ParseEnvConfigs("x.yaml", []byte("app: a\nenv: e\nnamespace: n\nchart: {repository: oci://r.example.com/c, name: c, version: 1.10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := configs[0].Chart.Version; got != "1.10" {
		t.Errorf("chart.version = %q, want the text 1.10", got)
	}
}
