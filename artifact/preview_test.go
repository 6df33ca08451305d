package artifact_test

import (
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

func TestPreviewApp(t *testing.T) {
	long := "feature/" + strings.Repeat("very-long-branch-name-", 5)
	tests := map[string]struct{ app, branch, want string }{
		"simple":           {"frontend", "new-feature", "frontend-new-feature"},
		"slashes and case": {"frontend", "Feature/JIRA-42_login", "frontend-feature-jira-42-login"},
		"runs of unsafe":   {"api", "fix//..//x", "api-fix-x"},
		"trailing unsafe":  {"api", "wip/", "api-wip"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := artifact.PreviewApp(tc.app, tc.branch); got != tc.want {
				t.Errorf("PreviewApp(%q, %q) = %q, want %q", tc.app, tc.branch, got, tc.want)
			}
		})
	}
	cut := artifact.PreviewApp("frontend", long)
	if len(cut) > 63 || cut != artifact.PreviewApp("frontend", long) || cut == artifact.PreviewApp("frontend", long+"2") {
		t.Errorf("cut name %q (%d): not stable, too long or not unique", cut, len(cut))
	}
	if artifact.SanitizeDNSName(cut) != cut {
		t.Errorf("cut name %q is not a DNS label", cut)
	}
}

func TestPreviewResolve(t *testing.T) {
	a := &artifact.Artifact{ID: "mycompany/frontend-1", Version: artifact.Version{RepositoryName: "mycompany/frontend", SHA: "deae5dbaf237766240181fa397e923d3c5253112",
		Event: artifact.EventPR, Branch: "Feature/Login", SourceBranch: "Feature/Login", TargetBranch: "main"}}
	ec := artifact.EnvConfig{App: "frontend", Env: "preview", Namespace: "preview", Preview: true, Chart: artifact.Chart{Name: "web"},
		Values: map[string]any{"ingress": map[string]any{"host": "{{ .APP }}.preview.example.com"}}}
	got, err := a.Resolve(ec)
	if err != nil {
		t.Fatal(err)
	}
	if got.App != "frontend-feature-login" || got.Values["ingress"].(map[string]any)["host"] != "frontend-feature-login.preview.example.com" {
		t.Errorf("resolved preview: app %q, values %v", got.App, got.Values)
	}
}

// TestPreviewOfAHeadWithNoBranch names a fork's preview after its pull request: the
// bare app name would overwrite the app itself.
func TestPreviewOfAHeadWithNoBranch(t *testing.T) {
	ec := artifact.EnvConfig{App: "frontend", Env: "preview", Namespace: "preview", Preview: true, Chart: artifact.Chart{Name: "web"}, File: ".auger/preview.yaml"}
	fork := &artifact.Artifact{ID: "x", Version: artifact.Version{RepositoryName: "mycompany/frontend", SHA: "deae5dbaf237766240181fa397e923d3c5253112",
		Event: artifact.EventPR, TargetBranch: "main", URL: "https://github.com/mycompany/frontend/pull/12"}}
	got, err := fork.Resolve(ec)
	if err != nil || got.App != "frontend-pr-12" {
		t.Errorf("fork preview: %q, %v; want frontend-pr-12", got.App, err)
	}
	fork.Environments = []artifact.EnvConfig{ec}
	if sel, err := fork.Select("preview", "frontend-pr-12"); err != nil || len(sel) != 1 {
		t.Errorf("select by the preview's name: %v, %v", sel, err)
	}
	bare := &artifact.Artifact{ID: "x", Version: artifact.Version{RepositoryName: "mycompany/frontend", SHA: "deae5dbaf237766240181fa397e923d3c5253112", Event: artifact.EventPush}}
	if got, err := bare.Resolve(ec); err == nil || !strings.Contains(err.Error(), "preview") || !strings.Contains(err.Error(), ".auger/preview.yaml") {
		t.Errorf("preview with neither branch nor pull request: %q, %v; want an error naming the file and field", got.App, err)
	}
}
