package artifact_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever it accepts must survive Marshal
// and Parse unchanged (Marshal is a fixed point), and resolving its env configs must
// not panic.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/seed.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id": "o/r-1", "version": {"repositoryName": "o/r", "sha": "abcdef0", "event": "tag", "tag": "v1"}, "environments": [{"app": "{{ .APP }}", "env": "e", "namespace": "n", "chart": {"name": "c"}, "values": {"a": [1, 2.5, 1e3, -0, null, "{{ .SHA | upper }}"]}}]}`))
	f.Add([]byte(`{"id": "x", "created": "2024-01-02T03:04:05+01:00", "version": {}, "environments": null}`))
	f.Add([]byte(`{"id": "x", "environments": [{"values": {"n": 18446744073709551616, "f": 1e308}}]}`))
	f.Add([]byte(`{"id": "o/r-1", "version": {"repositoryName": "o/r", "sha": "abcdef0", "event": "push", "branch": "a/B"}, "environments": [{"app": "w", "env": "e", "namespace": "{{ .APP }}", "chart": {"name": "c"}, "manifests": "{{ range $i, $e := until 3 }}{{ printf \"%03d\" $i | repeat 2 | indent 2 }}{{ end }}{{ $d := dict \"a\" (list 1 2) }}{{ toJson $d | b64enc }}{{ regexReplaceAll \"(a)\" .BRANCH \"$1$1\" }}{{ join \",\" (splitList \"/\" .BRANCH) | sanitizeDNSName }}{{ seq 1 2 9 }}"}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := artifact.Parse(data)
		if err != nil {
			return
		}
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed artifact: %v", err)
		}
		again, err := artifact.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(a)): %v\n%s", err, out)
		}
		out2, err := again.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal(Parse(Marshal(a))) differs:\n%s\n%s", out, out2)
		}
		for _, ec := range a.Environments {
			_, _ = a.Resolve(ec)
		}
		_, _ = a.Select("staging", "")
	})
}

// FuzzParseEnvConfigs feeds arbitrary YAML to ParseEnvConfigs. What it accepts must
// validate, and must fit into an artifact that survives Marshal and Parse (values are
// JSON-compatible).
func FuzzParseEnvConfigs(f *testing.F) {
	for _, dir := range []string{"testdata/app/.auger", "testdata/broken/.auger"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("app: a\nenv: e\nnamespace: n\nchart: &c {name: c}\nvalues: {1: x, 2.5: [*c, ~, .inf], t: 2024-01-02, b: !!binary aGk=}\n"))
	f.Add([]byte("---\n---\napp: a\ndeploy:\n  <<: [{branch: main}, {event: push}]\n...\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte("app: 'web-{{ .BRANCH | sanitizeDNSName }}'\nenv: e\nnamespace: '{{ .ENV }}'\nchart: {name: c}\nvalues:\n  t: '{{ range until 3 }}{{ . | add1 | mul 2 }}{{ end }}'\n  u: ['{{ .SHORT_SHA | upper }}', '{{ replace \"a\" \"b\" .REPO }}']\nmanifests: |\n  kind: ConfigMap\n  data: {x: {{ .SHA | quote }}}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		configs, err := artifact.ParseEnvConfigs(".auger/fuzz.yaml", data)
		if err != nil {
			return
		}
		for i := range configs {
			if err := configs[i].Validate(); err != nil {
				t.Fatalf("accepted config does not validate: %v", err)
			}
		}
		a := validArtifact()
		a.Environments = configs
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := artifact.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(artifact with the configs)): %v\n%s", err, out)
		}
		out2, err := back.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("artifact changed on the way through JSON:\n%s\n%s", out, out2)
		}
		for _, ec := range configs {
			_, _ = a.Resolve(ec)
		}
	})
}

// FuzzResolve: templates come from app repositories and run inside the server; whatever
// they say, Resolve returns (bounded in time and output) without panicking.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{
		"{{ .SHA }}", "{{ sanitizeDNSName .BRANCH }}", "{{ repeat 100000000 \"x\" }}", "{{ range until 1000000000 }}x{{ end }}",
		"{{ env \"HOME\" }}", "{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}", "{{ .NOPE }}", "{{", "plain",
	} {
		f.Add(seed, "frontend")
	}
	a := &artifact.Artifact{ID: "mycompany/frontend-1", Version: artifact.Version{RepositoryName: "mycompany/frontend",
		SHA: "deae5dbaf237766240181fa397e923d3c5253112", Event: artifact.EventPush, Branch: "main"}, Context: map[string]string{"IMAGE": "x"}}
	f.Fuzz(func(t *testing.T, value, app string) {
		ec := artifact.EnvConfig{App: app, Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: "web"},
			Values: map[string]any{"image": map[string]any{"tag": value}, "list": []any{value, 1}}, Manifests: value}
		got, err := a.Resolve(ec)
		if err != nil {
			return
		}
		if artifact.SanitizeDNSName(got.App) != got.App {
			t.Fatalf("resolved app %q is not a DNS label", got.App)
		}
	})
}
