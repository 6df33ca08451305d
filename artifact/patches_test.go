package artifact_test

import (
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

// Patches in an env config file: malformed ones are problems on the lines at fault
// (inside a "|" block, the line of the document), templates are checked to parse.
func TestParseEnvConfigPatches(t *testing.T) {
	const head = "app: web\nenv: staging\nnamespace: staging\nchart: {name: ./c}\n"
	tests := map[string]struct {
		yaml string
		want []string
	}{
		"valid": {yaml: head + `strategicMergePatches: |
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  ---
  kind: Service
  metadata: {name: "{{ .APP }}"}
json6902Patches:
  - target: {group: apps, version: v1, kind: Deployment, name: web, namespace: staging}
    patch: |
      - op: replace
        path: /spec/replicas
        value: 3
`},
		"a document without a name": {
			yaml: head + "strategicMergePatches: |\n  kind: Deployment\n  metadata: {name: web}\n  ---\n\n  kind: Service\n  spec: {}\n",
			want: []string{".auger/staging.yaml:10: strategicMergePatches: document at line 5: Service has no metadata.name"},
		},
		"not a mapping": {
			yaml: head + "strategicMergePatches: \"- a\\n- b\\n\"\n",
			want: []string{".auger/staging.yaml:5: strategicMergePatches: document at line 1: expected a partial object (a mapping with kind and metadata.name)"},
		},
		"a bad template": {
			yaml: head + "strategicMergePatches: |\n  kind: Deployment\n  metadata: {name: \"{{ .APP \"}\n",
			want: []string{".auger/staging.yaml:5: strategicMergePatches: template: strategicMergePatches:2: unterminated quoted string"},
		},
		"json patch without target name and with a bad op": {
			yaml: head + "json6902Patches:\n  - target:\n      kind: Deployment\n    patch: |\n      - op: rename\n        path: /x\n",
			want: []string{
				".auger/staging.yaml:6: json6902Patches[0].target.name: required",
				".auger/staging.yaml:8: json6902Patches[0].patch: operation 1: op rename is not one of add, remove, replace, move, copy, test",
			},
		},
		"json patch not a list": {
			yaml: head + "json6902Patches:\n  - target: {kind: Service, name: web}\n    patch: \"op: add\"\n",
			want: []string{".auger/staging.yaml:7: json6902Patches[0].patch: not a list of operations: unmarshal errors:\n  line 1: cannot unmarshal !!map into []map[string]interface {}"},
		},
		"json6902Patches is not a list": {
			yaml: head + "json6902Patches: {target: {kind: Service}}\n",
			want: []string{".auger/staging.yaml:5: json6902Patches: expected a list, got a mapping"},
		},
		"unknown target field": {
			yaml: head + "json6902Patches:\n  - target: {kind: Service, name: web, labelSelector: x}\n    patch: \"[]\"\n",
			want: []string{`.auger/staging.yaml:6: json6902Patches[0].target: unknown field "labelSelector"; known fields: group, version, kind, name, namespace`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			configs, problems := artifact.ParseEnvConfigDir([]artifact.EnvConfigFile{{Path: ".auger/staging.yaml", Content: []byte(tc.yaml)}})
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(tc.want) == 0 && len(configs) != 1 {
				t.Fatalf("configs = %v", configs)
			}
		})
	}
}

// Patches are templated like values: their text and their targets.
func TestResolvePatches(t *testing.T) {
	a := validArtifact()
	ec := artifact.EnvConfig{
		App: "web", Env: "staging", Namespace: "{{ .ENV }}", Chart: artifact.Chart{Name: "./c"},
		StrategicMergePatches: "kind: Deployment\nmetadata: {name: \"{{ .APP }}\"}\nspec: {template: {metadata: {annotations: {sha: \"{{ .SHORT_SHA }}\"}}}}\n",
		JSON6902Patches: []artifact.JSON6902Patch{{
			Target: artifact.PatchTarget{Kind: "Service", Name: "{{ .APP }}", Namespace: "{{ .ENV }}"},
			Patch:  "- {op: add, path: /metadata/labels/sha, value: \"{{ .SHA }}\"}",
		}},
	}
	got, err := a.Resolve(ec)
	if err != nil {
		t.Fatal(err)
	}
	short := a.Version.SHA[:7]
	if want := "kind: Deployment\nmetadata: {name: \"web\"}\nspec: {template: {metadata: {annotations: {sha: \"" + short + "\"}}}}\n"; got.StrategicMergePatches != want {
		t.Errorf("strategicMergePatches =\n%s\nwant\n%s", got.StrategicMergePatches, want)
	}
	p := got.JSON6902Patches[0]
	if p.Target != (artifact.PatchTarget{Kind: "Service", Name: "web", Namespace: "staging"}) || !strings.Contains(p.Patch, a.Version.SHA) {
		t.Errorf("json patch = %+v", p)
	}
	if ec.JSON6902Patches[0].Target.Name != "{{ .APP }}" {
		t.Error("Resolve changed its input")
	}

	ec.JSON6902Patches[0].Patch = "{{ .NOPE }}"
	if _, err := a.Resolve(ec); err == nil || !strings.Contains(err.Error(), "json6902Patches[0].patch") {
		t.Errorf("err = %v, want one naming json6902Patches[0].patch", err)
	}
}

func TestSplitStrategicMergePatches(t *testing.T) {
	docs, err := artifact.SplitStrategicMergePatches("# leading comment\n---\nkind: A\nmetadata: {name: a}\n---\n\n\napiVersion: apps/v1\nkind: B\nmetadata: {name: b, namespace: n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].String() != "strategicMergePatches document 1 (line 3, A a)" ||
		docs[1].String() != "strategicMergePatches document 2 (line 8, B b)" || docs[1].APIVersion != "apps/v1" || docs[1].Namespace != "n" {
		t.Errorf("docs = %+v", docs)
	}
	if _, err := artifact.SplitStrategicMergePatches("kind: A\n---\nmetadata: {name: b}\n"); err == nil ||
		err.Error() != "strategicMergePatches document 1 (line 1): A has no metadata.name\nstrategicMergePatches document 2 (line 3): has no kind" {
		t.Errorf("err = %v", err)
	}
}

// FuzzPatches feeds arbitrary text to the patch parsers: they never panic, and a
// document they accept names its kind and name and starts on a line of the text.
func FuzzPatches(f *testing.F) {
	f.Add("kind: A\nmetadata: {name: a}\n---\n# c\n\nkind: B\nmetadata:\n  name: b\n")
	f.Add("- {op: add, path: /a, value: 1}\n- op: remove\n  path: /b\n")
	f.Add("---\n--- \n---\t\n[\n{a: &x [*x]}\n")
	f.Add(`[{"op": "test", "path": "/x", "value": null}]`)
	f.Fuzz(func(t *testing.T, text string) {
		docs, _ := artifact.SplitStrategicMergePatches(text)
		lines := strings.Count(text, "\n") + 1
		for _, d := range docs {
			if d.Kind == "" || d.Name == "" || d.Line < 1 || d.Line > lines {
				t.Fatalf("accepted document %+v of %q", d, text)
			}
		}
		_ = artifact.CheckJSONPatch(text)
	})
}
