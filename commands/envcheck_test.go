package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/commands/commandstest"
	"github.com/auger-dev/auger/internal/chartrepo"
	"github.com/auger-dev/auger/manifests"
)

// When an artifact is recorded, each env config is rendered as a release would be:
// values the chart's values.schema.json refuses and patches that match nothing fail
// the artifact check run with an annotation on the line at fault.
func TestRecordChecksSchemaAndPatches(t *testing.T) {
	chart := chartrepo.AppChart(t)
	head := fmt.Sprintf("app: web\nenv: staging\nnamespace: staging\nchart: {name: %s}\n", chart) // lines 1-4
	tests := map[string]struct {
		config string
		fork   bool
		want   []string // annotations: path:line: message
	}{
		"control: valid values and patches are recorded": {
			config: head + "values:\n  replicas: 2\n  image: {tag: \"{{ .SHA }}\"}\nstrategicMergePatches: |\n  kind: Service\n  metadata: {name: \"{{ .APP }}\"}\n  spec: {type: NodePort}\njson6902Patches:\n  - target: {kind: Deployment, name: \"{{ .APP }}\"}\n    patch: \"[{op: add, path: /metadata/labels/sha, value: \x27{{ .SHORT_SHA }}\x27}]\"\n",
		},
		"schema violations on the lines that set them": {
			config: head + "values:\n  replicas: 40\n  image:\n    tag: 1.5\n    pullPolicy: Sometimes\n",
			want: []string{
				".auger/staging.yaml:9: values.image.pullPolicy: value must be one of 'Always', 'IfNotPresent', 'Never'",
				".auger/staging.yaml:8: values.image.tag: got number, want string",
				".auger/staging.yaml:6: values.replicas: maximum: got 40, want 16",
			},
		},
		"a missing required value on its parent's line": {
			config: head + "values:\n  replicas: 1\n  probe:\n    path: null\n",
			want:   []string{".auger/staging.yaml:8: values.probe.path: required by the chart's values.schema.json"},
		},
		"a templated value is checked once templated": {
			config: head + "values:\n  containerPort: \"{{ .SHORT_SHA }}\"\n",
			want:   []string{".auger/staging.yaml:6: values.containerPort: got string, want integer"},
		},
		"a strategic merge patch matching nothing, on its document's line": {
			config: head + "strategicMergePatches: |\n  kind: Service\n  metadata: {name: web}\n  spec: {type: NodePort}\n  ---\n  kind: Deployment\n  metadata: {name: worker}\n",
			want:   []string{".auger/staging.yaml:10: strategicMergePatches: document 2 (Deployment worker): matches no rendered object (there are ConfigMap web, Deployment web, Service web)"},
		},
		"a json patch matching nothing, on its line": {
			config: head + "json6902Patches:\n  - target: {kind: Service, name: api}\n    patch: \"[{op: remove, path: /spec/type}]\"\n",
			want:   []string{".auger/staging.yaml:6: json6902Patches[0]: Service api: matches no rendered object (there are ConfigMap web, Deployment web, Service web)"},
		},
		"not for forks: their charts are fetched only when released": {
			config: head + "values:\n  replicas: 40\n", fork: true,
		},
	}
	renderer, err := manifests.NewRenderer(manifests.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh := &commandstest.GitHub{}
			gh.Checks.Runs = []commands.CheckRun{{ID: 1, Name: "build", HeadSHA: headSHA, Status: "completed", Conclusion: "success", AppID: 99}}
			gh.Contents.Files = map[string]map[string]string{headSHA: {".auger/staging.yaml": tc.config}}
			rec := &commands.Recorder{AppID: commandstest.OwnAppID, Renderer: renderer, Environments: []commands.EnvironmentRules{{Name: "staging"}}}
			req := commands.RecordRequest{Repo: commands.RepoRef{Owner: "acme", Name: "web"}, SHA: headSHA, HeadBranch: "main", DefaultBranch: "main"}
			if tc.fork {
				req.HeadBranch = ""
				req.PullRequest = &commands.PullRequestRef{Number: 5, Fork: "evil/web"}
			}
			res, err := rec.Record(context.Background(), gh, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.want) == 0 {
				if res.Outcome != commands.OutcomeRecorded {
					t.Fatalf("outcome = %s (%s), want recorded: %+v", res.Outcome, res.Reason, gh.Checks.Named(commands.CheckArtifact))
				}
				return
			}
			if res.Outcome != commands.OutcomeInvalid {
				t.Fatalf("outcome = %s, want invalid", res.Outcome)
			}
			var got []string
			for _, a := range gh.Checks.Named(commands.CheckArtifact)[0].Annotations {
				got = append(got, fmt.Sprintf("%s:%d: %s", a.Path, a.StartLine, a.Message))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("annotations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
