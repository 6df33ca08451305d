package artifact_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

// validArtifact returns a small artifact that passes Validate; tests break one thing.
func validArtifact() *artifact.Artifact {
	return &artifact.Artifact{
		ID: "mycompany/frontend-ffd302df-2d85-4aa4-acd1-957ea6bcceeb",
		Version: artifact.Version{
			RepositoryName: "mycompany/frontend",
			SHA:            "deae5dbaf237766240181fa397e923d3c5253112",
			Branch:         "main",
			Event:          artifact.EventPush,
		},
		Context: map[string]string{"CI": "true"},
		Environments: []artifact.EnvConfig{{
			App: "frontend", Env: "staging", Namespace: "staging",
			Chart:  artifact.Chart{Repository: "https://chart.onechart.dev", Name: "onechart", Version: "0.10.0"},
			Values: map[string]any{"image": map[string]any{"tag": "{{ .SHA }}"}},
			Deploy: &artifact.Deploy{Branch: "main", Event: artifact.EventPush},
		}},
		Items: []artifact.Item{{Name: "CI", URL: "https://ci.example.com/1"}},
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	if err := validArtifact().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		change func(a *artifact.Artifact)
		want   string // the whole error, one line per problem
	}{
		"id required":         {change: func(a *artifact.Artifact) { a.ID = "" }, want: "id: required"},
		"id without newlines": {change: func(a *artifact.Artifact) { a.ID = "x\nAuger-Action: delete" }, want: `id: "x\nAuger-Action: delete": must not contain spaces or control characters`},
		"repository required": {change: func(a *artifact.Artifact) { a.Version.RepositoryName = "" }, want: "version.repositoryName: required"},
		"repository form": {
			change: func(a *artifact.Artifact) { a.Version.RepositoryName = "frontend" },
			want:   `version.repositoryName: "frontend": must be owner/name`,
		},
		"repository dot-dot": {
			change: func(a *artifact.Artifact) { a.Version.RepositoryName = "owner/.." },
			want:   `version.repositoryName: "owner/..": must be owner/name`,
		},
		"sha required":  {change: func(a *artifact.Artifact) { a.Version.SHA = "" }, want: "version.sha: required"},
		"sha too short": {change: func(a *artifact.Artifact) { a.Version.SHA = "deae5d" }, want: `version.sha: "deae5d": must be 7 to 64 lower-case hex characters`},
		"sha not hex":   {change: func(a *artifact.Artifact) { a.Version.SHA = "deae5dbz" }, want: `version.sha: "deae5dbz": must be 7 to 64 lower-case hex characters`},
		"event required": {
			change: func(a *artifact.Artifact) { a.Version.Event = "" },
			want:   "version.event: required (one of push, pr, tag)",
		},
		"event unknown": {
			change: func(a *artifact.Artifact) { a.Version.Event = "merge" },
			want:   `version.event: "merge": must be one of push, pr, tag`,
		},
		"tag event needs tag": {
			change: func(a *artifact.Artifact) { a.Version.Event = artifact.EventTag },
			want:   "version.tag: required for tag events",
		},
		"secret in context": {
			change: func(a *artifact.Artifact) { a.Context["GITHUB_TOKEN"] = "x" },
			want:   "context.GITHUB_TOKEN: looks like a secret; artifacts must not carry secrets, remove it",
		},
		"credential in a value": {
			change: func(a *artifact.Artifact) {
				a.Context["CI_REPOSITORY_URL"] = "https://gitlab-ci-token:abc@gitlab.com/x/y.git"
			},
			want: "context.CI_REPOSITORY_URL: value looks like a credential; artifacts must not carry secrets, remove it",
		},
		"item fields": {
			change: func(a *artifact.Artifact) { a.Items = append(a.Items, artifact.Item{}) },
			want:   "items[1].name: required\nitems[1].url: required",
		},
		"env config names": {
			change: func(a *artifact.Artifact) {
				a.Environments[0].App = ""
				a.Environments[0].Env = "Staging"
				a.Environments[0].Namespace = "../x"
			},
			want: "environments[0].app: required\n" +
				`environments[0].env: "Staging": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)` + "\n" +
				`environments[0].namespace: "../x": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)`,
		},
		"chart version with repository": {
			change: func(a *artifact.Artifact) {
				a.Environments = append(a.Environments, a.Environments[0])
				a.Environments[1].Env = "production"
				a.Environments[1].Chart.Version = ""
			},
			want: "environments[1].chart.version: required when chart.repository is set",
		},
		"chart name and scheme": {
			change: func(a *artifact.Artifact) {
				a.Environments[0].Chart = artifact.Chart{Repository: "ftp://charts.example.com", Version: "1"}
			},
			want: "environments[0].chart.name: required\n" +
				`environments[0].chart.repository: "ftp://charts.example.com": must start with https://, http:// or oci://`,
		},
		"oci chart": {
			change: func(a *artifact.Artifact) {
				a.Environments[0].Chart = artifact.Chart{Repository: "oci://ghcr.io/x", Name: "c"}
			},
			want: "environments[0].chart.version: required when chart.repository is set",
		},
		"template does not parse": {
			change: func(a *artifact.Artifact) { a.Environments[0].Values["image"].(map[string]any)["tag"] = "{{ .SHA " },
			want:   "environments[0].values.image.tag: template: values.image.tag:1: unclosed action",
		},
		"unknown template function": {
			change: func(a *artifact.Artifact) { a.Environments[0].Manifests = "x: {{ env \"HOME\" }}" },
			want:   `environments[0].manifests: template: manifests:1: function "env" not defined`,
		},
		"template in a list": {
			change: func(a *artifact.Artifact) { a.Environments[0].Values["hosts"] = []any{"a", "{{ end }}"} },
			want:   "environments[0].values.hosts[1]: template: values.hosts[1]:1: unexpected {{end}}",
		},
		"templated names are checked after Resolve": {
			change: func(a *artifact.Artifact) { a.Environments[0].App = "{{ .APP }}-{{ sanitizeDNSName .BRANCH }}" },
			want:   "",
		},
		"deploy event": {
			change: func(a *artifact.Artifact) { a.Environments[0].Deploy.Event = "commit" },
			want:   `environments[0].deploy.event: "commit": must be one of push, pr, tag`,
		},
		"deploy glob invalid": {
			change: func(a *artifact.Artifact) { a.Environments[0].Deploy.Branch = "!release/[" },
			want:   `environments[0].deploy.branch: "!release/[": invalid glob pattern`,
		},
		"deploy commit message patterns": {
			change: func(a *artifact.Artifact) {
				a.Environments[0].Deploy.CommitMessagePatterns = []string{"*deploy*", "!", "![wip"}
			},
			want: `environments[0].deploy.commitMessagePatterns[1]: "!": invalid pattern: empty pattern` + "\n" +
				`environments[0].deploy.commitMessagePatterns[2]: "![wip": invalid pattern: unexpected end of input`,
		},
		"deploy both branch and tag": {
			change: func(a *artifact.Artifact) { a.Environments[0].Deploy = &artifact.Deploy{Branch: "main", Tag: "v*"} },
			want:   "environments[0].deploy: branch and tag are both set; use one (a tag event has no branch)",
		},
		"deploy empty": {
			change: func(a *artifact.Artifact) { a.Environments[0].Deploy = &artifact.Deploy{} },
			want:   "environments[0].deploy: needs branch, tag or event (an empty policy would release everything)",
		},
		"cleanup": {
			change: func(a *artifact.Artifact) {
				a.Environments[0].Cleanup = &artifact.Cleanup{Event: "closed", Branch: "[", App: ""}
			},
			want: `environments[0].cleanup.event: "closed": must be one of prClosed, branchDeleted` + "\n" +
				"environments[0].cleanup.app: required\n" +
				`environments[0].cleanup.branch: "[": invalid glob pattern`,
		},
		"duplicate env configs": {
			change: func(a *artifact.Artifact) { a.Environments = append(a.Environments, a.Environments[0]) },
			want:   `environments[1]: same app "frontend" and env "staging" as environments[0]`,
		},
		"keys that are not words are quoted": {
			change: func(a *artifact.Artifact) { a.Environments[0].Values["example.com/x"] = "{{" },
			want:   `environments[0].values["example.com/x"]: template: values["example.com/x"]:1: unclosed action`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := validArtifact()
			tc.change(a)
			err := a.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var verr *artifact.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want *ValidationError, got %T: %v", err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tc.want)
			}
			if n := len(strings.Split(tc.want, "\n")); len(verr.Problems) != n {
				t.Errorf("%d problems, want %d", len(verr.Problems), n)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	var a *artifact.Artifact
	if err := a.Validate(); err == nil {
		t.Error("nil artifact validated")
	}
	var ec *artifact.EnvConfig
	if err := ec.Validate(); err == nil {
		t.Error("nil env config validated")
	}
}

func TestEnvConfigValidateNamesFile(t *testing.T) {
	ec := artifact.EnvConfig{App: "frontend", Env: "staging", Namespace: "staging", File: ".auger/staging.yaml"}
	err := ec.Validate()
	if err == nil || err.Error() != ".auger/staging.yaml: chart.name: required" {
		t.Errorf("Validate() = %v", err)
	}
}

func TestDNSLabelLookAlikes(t *testing.T) {
	tests := map[string]string{
		"../x":                  `"../x": not a DNS-1123 label`,
		"a/b":                   `"a/b": not a DNS-1123 label`,
		"frоntend":              `"frоntend": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters); 'о' (U+043E) is not ASCII`,
		"-frontend":             `not a DNS-1123 label`,
		"frontend.staging":      `not a DNS-1123 label`,
		strings.Repeat("a", 64): `not a DNS-1123 label`,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			ec := artifact.EnvConfig{App: name, Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: "./chart"}}
			err := ec.Validate()
			if err == nil || !strings.Contains(err.Error(), "app: "+want) && !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v, want %s", err, want)
			}
		})
	}
}
