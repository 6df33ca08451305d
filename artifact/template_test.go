package artifact_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
)

func TestVars(t *testing.T) {
	a := validArtifact()
	a.Version = artifact.Version{
		RepositoryName: "mycompany/frontend", SHA: "deae5dbaf237766240181fa397e923d3c5253112",
		Branch: "feature/x", Event: artifact.EventPR, URL: "https://github.com/mycompany/frontend/pull/100",
	}
	a.Context = map[string]string{"CIRCLE_BUILD_NUM": "2254", "SHA": "spoofed", "APP": "spoofed"}
	got := a.Vars(artifact.EnvConfig{App: "frontend-{{ .BRANCH }}", Env: "preview"})
	want := map[string]string{
		"CIRCLE_BUILD_NUM": "2254",
		"SHA":              "deae5dbaf237766240181fa397e923d3c5253112",
		"SHORT_SHA":        "deae5db",
		"BRANCH":           "feature/x",
		"TAG":              "",
		"EVENT":            "pr",
		"REPO":             "mycompany/frontend",
		"OWNER":            "mycompany",
		"REPO_NAME":        "frontend",
		"PR":               "100",
		"APP":              "frontend-{{ .BRANCH }}",
		"ENV":              "preview",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Vars =\n%v\nwant\n%v", got, want)
	}
}

func TestVarsPR(t *testing.T) {
	tests := map[string]struct {
		url, githubRef, contextPR string
		want                      string // "" means absent
	}{
		"from url":                 {url: "https://github.com/o/r/pull/7", want: "7"},
		"from url with a path":     {url: "https://github.com/o/r/pull/7/files", want: "7"},
		"from gitlab url":          {url: "https://gitlab.com/o/r/-/merge_requests/12", want: "12"},
		"from GITHUB_REF":          {url: "https://github.com/o/r/commit/abc", githubRef: "refs/pull/42/merge", want: "42"},
		"none":                     {url: "https://github.com/o/r/commit/abc"},
		"not a number":             {url: "https://github.com/o/r/pull/new"},
		"context cannot invent it": {contextPR: "99"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := validArtifact()
			a.Version.URL = tc.url
			a.Context = map[string]string{}
			if tc.githubRef != "" {
				a.Context["GITHUB_REF"] = tc.githubRef
			}
			if tc.contextPR != "" {
				a.Context["PR"] = tc.contextPR
			}
			got, ok := a.Vars(artifact.EnvConfig{})["PR"]
			if tc.want == "" && ok {
				t.Errorf("PR = %q, want it absent", got)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("PR = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResolveSeed(t *testing.T) {
	a, err := artifact.Parse(readSeed(t))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := a.Marshal()
	ec, err := a.Resolve(a.Environments[0])
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	image := ec.Values["image"].(map[string]any)
	if image["tag"] != "deae5db..." {
		t.Errorf("image.tag = %q, want the context's CIRCLE_SHA1", image["tag"])
	}
	if ec.Values["containerPort"] != int64(5000) || ec.Values["replicas"] != int64(1) {
		t.Errorf("numbers changed: %#v %#v", ec.Values["containerPort"], ec.Values["replicas"])
	}
	after, _ := a.Marshal()
	if string(before) != string(after) {
		t.Error("Resolve changed the artifact's own env config")
	}
}

func TestResolve(t *testing.T) {
	tests := map[string]struct {
		ec   artifact.EnvConfig
		want artifact.EnvConfig
		err  string
	}{
		"literal values untouched, keys not templated": {
			ec: artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{
				"{{ .SHA }}": "x", "n": int64(3), "f": 0.5, "b": true, "nil": nil, "plain": "a } b",
			}},
			want: artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{
				"{{ .SHA }}": "x", "n": int64(3), "f": 0.5, "b": true, "nil": nil, "plain": "a } b",
			}},
		},
		"strings in maps and lists": {
			ec: artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{
				"image": map[string]any{"tag": "{{ .SHORT_SHA }}"},
				"args":  []any{"--sha={{ .SHA }}", int64(1), []any{"{{ .EVENT }}"}},
			}, Manifests: "kind: ConfigMap\ndata: {repo: {{ .REPO | quote }}}\n"},
			want: artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{
				"image": map[string]any{"tag": "deae5db"},
				"args":  []any{"--sha=deae5dbaf237766240181fa397e923d3c5253112", int64(1), []any{"push"}},
			}, Manifests: "kind: ConfigMap\ndata: {repo: \"mycompany/frontend\"}\n"},
		},
		"preview app from the raw app and the branch": {
			ec: artifact.EnvConfig{
				App: "{{ .APP | trimSuffix \"-{{\" }}web-{{ sanitizeDNSName .BRANCH }}", Env: "preview",
				Namespace: "{{ .APP }}", Values: map[string]any{"host": "{{ .APP }}.{{ .ENV }}.example.com"},
			},
			want: artifact.EnvConfig{
				App: "{{ .APP | trimSuffix \"-{{\" }}web-{{ sanitizeDNSName .BRANCH }}web-feature-login-page", Env: "preview",
				Namespace: "", Values: nil,
			},
			err: `app: "{{ .APP | trimSuffix \"-{{\" }}web-{{ sanitizeDNSName .BRANCH }}web-feature-login-page": not a DNS-1123 label`,
		},
		"namespace sees the rendered app": {
			ec: artifact.EnvConfig{
				App: "web-{{ sanitizeDNSName .BRANCH }}", Env: "preview", Namespace: "{{ .APP }}",
				Values: map[string]any{"host": "{{ .APP }}.{{ .ENV }}.example.com"},
			},
			want: artifact.EnvConfig{
				App: "web-feature-login-page", Env: "preview", Namespace: "web-feature-login-page",
				Values: map[string]any{"host": "web-feature-login-page.preview.example.com"},
			},
		},
		"missing variable": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", File: ".auger/staging.yaml", Values: map[string]any{"image": map[string]any{"tag": "{{ .NOPE }}"}}},
			err: `.auger/staging.yaml: values.image.tag: template: values.image.tag:1:3: executing "values.image.tag" at <.NOPE>: map has no entry for key "NOPE"`,
		},
		"PR absent on a push": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{"pr": "{{ .PR }}"}},
			err: `values.pr: template: values.pr:1:3: executing "values.pr" at <.PR>: map has no entry for key "PR"`,
		},
		"env is not available": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{"home": `{{ env "HOME" }}`}},
			err: `values.home: template: values.home:1: function "env" not defined`,
		},
		"expandenv is not available": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Manifests: `{{ expandenv "$HOME" }}`},
			err: `manifests: template: manifests:1: function "expandenv" not defined`,
		},
		"random functions are not available": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Manifests: `{{ genPrivateKey "rsa" }}`},
			err: `manifests: template: manifests:1: function "genPrivateKey" not defined`,
		},
		"app must be a label after templating": {
			ec:  artifact.EnvConfig{App: "{{ .BRANCH }}", Env: "staging", Namespace: "web", File: ".auger/staging.yaml"},
			err: `.auger/staging.yaml: app: "feature/Login page": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)`,
		},
		"path traversal": {
			ec:  artifact.EnvConfig{App: "web", Env: "{{ \"../prod\" }}", Namespace: "{{ .ENV }}"},
			err: "env: \"../prod\": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)\nnamespace: \"../prod\": not a DNS-1123 label",
		},
		"empty after templating": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: `{{ "" }}`},
			err: "namespace: required (empty after templating)",
		},
		"fail": {
			ec:  artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Values: map[string]any{"x": `{{ fail "no" }}`}},
			err: `values.x: template: values.x:1:3: executing "values.x" at <fail "no">: error calling fail: no`,
		},
	}
	a := validArtifact()
	a.Version.Branch = "feature/Login page"
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := a.Resolve(tc.ec)
			if tc.err != "" {
				var verr *artifact.ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("want *ValidationError, got %T: %v", err, err)
				}
				if !strings.HasPrefix(err.Error(), tc.err) {
					t.Errorf("error =\n%v\nwant it to start with\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestResolveCopiesPolicies(t *testing.T) {
	a := validArtifact()
	ec := a.Environments[0]
	got, err := a.Resolve(ec)
	if err != nil {
		t.Fatal(err)
	}
	got.Deploy.Branch = "changed"
	got.Values["image"].(map[string]any)["tag"] = "changed"
	if ec.Deploy.Branch != "main" || ec.Values["image"].(map[string]any)["tag"] != "{{ .SHA }}" {
		t.Error("Resolve's result shares memory with its input")
	}
}

// TestResolveRunaway checks that templates cannot eat the server: each must fail, fast.
func TestResolveRunaway(t *testing.T) {
	tests := map[string]struct {
		template string
		err      string
	}{
		"output cap":              {template: `{{ range until 5000 }}{{ repeat 1000 "x" }}{{ end }}`, err: "template output is larger than 1048576 bytes"},
		"repeat":                  {template: `{{ repeat 1000000000 "x" }}`, err: "repeat: output would be more than"},
		"repeat negative":         {template: `{{ repeat -1 "x" }}`, err: "negative count"},
		"indent":                  {template: `{{ indent 1000000000 "x" }}`, err: "output would be"},
		"replace everywhere":      {template: `{{ $s := repeat 100000 "x" }}{{ replace "" $s $s }}`, err: "output would be"},
		"regex everywhere":        {template: `{{ $s := repeat 100000 "x" }}{{ regexReplaceAll "" $s $s }}`, err: "output would be more than"},
		"until":                   {template: `{{ range until 1000000000000 }}{{ end }}`, err: "output would be"},
		"untilStep out of range":  {template: `{{ untilStep 0 9223372036854775807 1 }}`, err: "is out of range"},
		"seq":                     {template: `{{ seq 1 100000000 }}`, err: "output would be"},
		"range over an int":       {template: `{{ range 1000000000000 }}{{ end }}`, err: "looped more than 100000 times"},
		"nested loops":            {template: `{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}`, err: "looped more than 100000 times"},
		"doubling a list":         {template: `{{ $l := list 1 }}{{ range 64 }}{{ $l = concat $l $l }}{{ end }}`, err: "concat: result larger than"},
		"doubling a string":       {template: `{{ $s := "xx" }}{{ range 64 }}{{ $s = cat $s $s }}{{ end }}`, err: "cat: result larger than"},
		"many big variables":      {template: `{{ range 1000 }}{{ $s := repeat 1000000 "x" }}{{ end }}`, err: "generated more than 67108864 bytes"},
		"printf width":            {template: `{{ printf "%900000d%900000d" 1 2 }}`, err: "printf: output would be about"},
		"printf width per item":   {template: `{{ printf "%1000d" (until 5000) }}`, err: "printf: output would be about"},
		"join":                    {template: `{{ $s := repeat 100000 "x" }}{{ join $s (until 100) }}`, err: "output would be"},
		"a map that holds itself": {template: `{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ $d }}`, err: "set: result larger than 1048576 bytes or nested deeper than 64"},
		"recursion":               {template: `{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}`, err: "{{define}} and {{block}} are not supported here"},
		"template call":           {template: `{{ template "x" }}`, err: "{{template}} is not supported here"},
		"quadratic uniq":          {template: `{{ uniq (until 9000) }}`, err: "uniq: templates of this env config generated more than"},
		"split":                   {template: `{{ $s := repeat 1000000 "x" }}{{ split "" $s }}`, err: "output would be"},
	}
	a := validArtifact()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := a.Resolve(artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Manifests: tc.template})
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %s", elapsed)
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error = %v, want it to contain %q", err, tc.err)
			}
		})
	}
}

// TestResolveFunctionsStillWork guards the bounded replacements against changing what
// sprig's originals do.
func TestResolveFunctionsStillWork(t *testing.T) {
	tests := map[string]string{
		`{{ repeat 3 "ab" }}`:           "ababab",
		`{{ indent 2 "a\nb" }}`:         "  a\n  b",
		`{{ nindent 2 "a" }}`:           "\n  a",
		`{{ replace "-" "_" "a-b-c" }}`: "a_b_c",
		`{{ until 3 }}`:                 "[0 1 2]",
		`{{ until -3 }}`:                "[0 -1 -2]",
		`{{ untilStep 1 10 3 }}`:        "[1 4 7]",
		`{{ untilStep 10 1 -4 }}`:       "[10 6 2]",
		`{{ untilStep 1 10 0 }}`:        "[]",
		`{{ seq 3 }}`:                   "1 2 3",
		`{{ seq -1 }}`:                  "1 0 -1",
		`{{ seq 2 4 }}`:                 "2 3 4",
		`{{ seq 4 2 }}`:                 "4 3 2",
		`{{ seq 0 2 5 }}`:               "0 2 4",
		`{{ seq 5 -2 0 }}`:              "5 3 1",
		`{{ seq 5 2 0 }}`:               "",
		`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}`:          "-W-xxW-",
		`{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}`:    "-${1}-${1}-",
		`{{ regexReplaceAll "x*" "abc" "-" }}`:                        "-a-b-c-",
		`{{ join "," (list 1 "a" 2) }}`:                               "1,a,2",
		`{{ splitList "/" "a/b" | last }}`:                            "b",
		`{{ (split "/" "a/b")._1 }}`:                                  "b",
		`{{ (splitn "/" 2 "a/b/c")._1 }}`:                             "b/c",
		`{{ uniq (list 1 1 2) }}`:                                     "[1 2]",
		`{{ without (list 1 2 3) 2 }}`:                                "[1 3]",
		`{{ wrapWith 2 "|" "abcd" }}`:                                 "ab|cd",
		`{{ printf "%03d-%s" 7 "x" }}`:                                "007-x",
		`{{ print 1 "a" }}`:                                           "1a",
		`{{ html "<a>" }}`:                                            "&lt;a&gt;",
		`{{ .BRANCH | upper | sha256sum | trunc 8 }}`:                 "95832d03",
		`{{ sanitizeDNSName "Feature/ÄB_c" }}`:                        "feature--b-c",
		`{{ range $i, $e := list "a" "b" }}{{ $i }}{{ $e }}{{ end }}`: "0a1b",
		`{{ range 3 }}{{ . }}{{ end }}`:                               "012",
		`{{ toJson (dict "a" 1) }}`:                                   `{"a":1}`,
		`{{ semverCompare ">=1.2.0" "1.3.0" }}`:                       "true",
		`{{ if eq .EVENT "push" }}yes{{ end }}`:                       "yes",
		`{{ default "none" .TAG }}`:                                   "none",
	}
	a := validArtifact()
	for tmpl, want := range tests {
		t.Run(tmpl, func(t *testing.T) {
			got, err := a.Resolve(artifact.EnvConfig{App: "web", Env: "staging", Namespace: "web", Manifests: tmpl})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Manifests != want {
				t.Errorf("%s = %q, want %q", tmpl, got.Manifests, want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	a := validArtifact()
	prod := a.Environments[0]
	prod.Env = "production"
	prod.Namespace = "production"
	api := a.Environments[0]
	api.App = "api"
	preview := artifact.EnvConfig{App: "web-{{ sanitizeDNSName .BRANCH }}", Env: "preview", Namespace: "preview", Chart: artifact.Chart{Name: "./c"}}
	a.Environments = append(a.Environments, prod, api, preview)

	names := func(ecs []artifact.EnvConfig) []string {
		var out []string
		for _, ec := range ecs {
			out = append(out, ec.App+"/"+ec.Env)
		}
		return out
	}
	tests := map[string]struct {
		env, app string
		want     []string
		err      string
	}{
		"env":            {env: "staging", want: []string{"frontend/staging", "api/staging"}},
		"env and app":    {env: "staging", app: "api", want: []string{"api/staging"}},
		"templated name": {env: "preview", app: "web-main", want: []string{"web-{{ sanitizeDNSName .BRANCH }}/preview"}},
		"no env": {
			env: "prod",
			err: `artifact has no env config for env "prod"; it has: frontend→staging, frontend→production, api→staging, web-main→preview`,
		},
		"no app": {
			env: "production", app: "api",
			err: `artifact has no env config for app "api" in env "production"; it has: frontend→staging, frontend→production, api→staging, web-main→preview`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := a.Select(tc.env, tc.app)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tc.want) {
				t.Errorf("Select = %v, want %v", names(got), tc.want)
			}
		})
	}

	empty := &artifact.Artifact{}
	if _, err := empty.Select("staging", ""); err == nil || !strings.HasSuffix(err.Error(), "it has none") {
		t.Errorf("empty artifact: %v", err)
	}
}

func TestSanitizeDNSName(t *testing.T) {
	tests := map[string]string{
		"feature/Login-Page":           "feature-login-page",
		"--x--":                        "x",
		"frоntend":                     "fr-ntend",
		"":                             "",
		"///":                          "",
		"dependabot/npm/a@1.2.3":       "dependabot-npm-a-1-2-3",
		strings.Repeat("a", 70):        strings.Repeat("a", 63),
		strings.Repeat("a", 62) + "/b": strings.Repeat("a", 62),
		"\xff":                         "",
	}
	for in, want := range tests {
		if got := artifact.SanitizeDNSName(in); got != want {
			t.Errorf("SanitizeDNSName(%q) = %q, want %q", in, got, want)
		}
	}
}
