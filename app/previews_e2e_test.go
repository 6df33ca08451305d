package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
	"github.com/auger-dev/auger/notify"
)

// hookReceiver is a generic JSON webhook endpoint collecting Auger's notifications.
type hookReceiver struct {
	mu     sync.Mutex
	events []notify.Event
	srv    *httptest.Server
}

func newHookReceiver(t testing.TB) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var e notify.Event
		if err := json.NewDecoder(req.Body).Decode(&e); err != nil || req.Header.Get("X-Auger-Event") != string(e.Kind) {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) find(kind notify.Kind, app string) (notify.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Kind == kind && e.App == app {
			return e, true
		}
	}
	return notify.Event{}, false
}

const previewConfig = `app: frontend
env: preview
namespace: previews
preview: true
chart: {repository: %q, name: web, version: 0.1.0}
deploy: {event: pr}
cleanup: {event: %s, app: "{{ .APP }}"}
values:
  image: {repository: ghcr.io/mycompany/frontend, tag: "{{ .SHA }}"}
  ingress: {host: "{{ .APP }}.preview.example.com"}
`

func (w *releaseWorld) previewComment(t testing.TB, pr int, want string) string {
	t.Helper()
	var last string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range w.repo.Comments(pr) {
			if strings.Contains(c.Body, "auger:preview=") {
				last = c.Body
				if strings.Contains(c.Body, want) {
					return c.Body
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no preview comment on #%d saying %q; last:\n%s", pr, want, last)
	return ""
}

func TestPreviewLifecycle(t *testing.T) {
	hooks := newHookReceiver(t)
	w := newReleaseWorld(t, `
  - name: preview
    gitops: {repository: mycompany/gitops, path: previews}
    url: "https://{{ .APP }}.preview.example.com"
    agentToken: {env: PREVIEW_AGENT_TOKEN}
    notifications:
      - webhook: {env: PREVIEW_HOOK}
`, "PREVIEW_AGENT_TOKEN=preview-agent-token", "PREVIEW_HOOK="+hooks.srv.URL+"/hook")

	// A pull request's head is released as its own app by the preview's policy.
	sha, pr := w.pullRequestWith(t, "Feature/Login", map[string]string{".auger/preview.yaml": fmt.Sprintf(previewConfig, w.chartURL, "prClosed")})
	comment := w.previewComment(t, pr, "released")
	if !strings.Contains(comment, "`frontend-feature-login`") || !strings.Contains(comment, "https://frontend-feature-login.preview.example.com") || !strings.Contains(comment, sha[:7]) {
		t.Errorf("preview comment:\n%s", comment)
	}
	ingress := w.gitops(t, "show", "main:previews/frontend-feature-login/ingress-frontend-feature-login.yaml")
	if !strings.Contains(ingress, "host: frontend-feature-login.preview.example.com") {
		t.Errorf("preview ingress:\n%s", ingress)
	}
	waitFor(t, func() bool { _, ok := hooks.find(notify.ReleaseStarted, "frontend-feature-login"); return ok })
	started, _ := hooks.find(notify.ReleaseStarted, "frontend-feature-login")
	if started.Actor != "policy" || started.SHA != sha || started.GitopsCommitURL == "" || started.CheckRunURL == "" ||
		started.PullRequestURL != fmt.Sprintf("%smycompany/frontend/pull/%d", w.git.URL+"/", pr) {
		t.Errorf("release.started notification = %+v", started)
	}

	// The agent reports it live: the same comment says so, and the channel hears it.
	id := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, sha)
	w.report(t, "preview-agent-token", agent.Report{APIVersion: agent.ReportAPIVersion, Env: "preview", Releases: []agent.ReleaseState{{
		App: "frontend-feature-login", Namespace: "previews", Release: id, Repository: "mycompany/frontend", SHA: sha, Phase: agent.PhaseAvailable}}})
	w.previewComment(t, pr, "🟢 **Preview** `frontend-feature-login` in **preview**: live")
	waitFor(t, func() bool { _, ok := hooks.find(notify.ReleaseLive, "frontend-feature-login"); return ok })

	// Closing the pull request deletes the preview, once, and the comment says it is gone.
	for i := 0; i < 2; i++ {
		closed := githubfake.Payload(t, "pull_request", "closed")
		w.repo.RetargetPull(closed, pr)
		closed["pull_request"].(map[string]any)["state"] = "closed"
		w.fake.Deliver(t, w.hook, testSecret, "pull_request", "", closed)
	}
	w.previewComment(t, pr, "removed")
	waitFor(t, func() bool {
		return w.gitops(t, "ls-tree", "--name-only", "main", "previews/") == "" && strings.Contains(w.gitops(t, "log", "-1", "--format=%B", "main"), "Auger-Action: delete")
	})
	if n := strings.Count(w.gitops(t, "log", "--format=%B", "main"), "Auger-Action: delete"); n != 1 {
		t.Errorf("%d delete commits, want 1", n)
	}
	waitFor(t, func() bool { _, ok := hooks.find(notify.CleanedUp, "frontend-feature-login"); return ok })
	if strings.Contains(w.logs.String(), hooks.srv.URL) {
		t.Error("a notification URL reached the logs")
	}
}

func TestBranchDeletionAndStalePreviews(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: preview
    gitops: {repository: mycompany/gitops, path: previews}
`)
	w.repo.SetDefaultBranch("main")
	w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "configs", Files: map[string]string{".auger/preview.yaml": fmt.Sprintf(previewConfig, w.chartURL, "branchDeleted")}})
	_, _ = w.pullRequestWith(t, "gone-soon", map[string]string{".auger/preview.yaml": fmt.Sprintf(previewConfig, w.chartURL, "branchDeleted")})
	_, _ = w.pullRequestWith(t, "missed-event", map[string]string{".auger/preview.yaml": fmt.Sprintf(previewConfig, w.chartURL, "branchDeleted")})
	waitFor(t, func() bool {
		return len(strings.Fields(w.gitops(t, "ls-tree", "--name-only", "main", "previews/"))) == 2
	})

	// A delete event removes its branch's preview.
	w.repo.DeleteBranch("gone-soon")
	del := githubfake.Payload(t, "delete", "")
	w.repo.Retarget(del, "")
	del["ref"], del["ref_type"] = "gone-soon", "branch"
	w.fake.Deliver(t, w.hook, testSecret, "delete", "", del)
	waitFor(t, func() bool {
		return w.gitops(t, "ls-tree", "--name-only", "main", "previews/") == "previews/frontend-missed-event"
	})

	// A branch deleted while Auger was away is found by `auger status --stale`, and removed with --delete.
	w.repo.DeleteBranch("missed-event")
	token := installationToken(t, w.world)
	t.Setenv("GITHUB_TOKEN", token)
	t.Setenv("GITHUB_API_URL", w.fake.URL)
	t.Setenv("AUGER_GITOPS_TOKEN", token)
	gitopsURL := w.git.URL + "/mycompany/gitops.git"
	cache := t.TempDir()
	out, errOut, code := run(t, "status", "--gitops-repo", gitopsURL, "--env", "preview", "--path", "previews", "--stale", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "stale: frontend-missed-event (branch missed-event of mycompany/frontend is gone)") {
		t.Fatalf("status --stale (%d): %s %s", code, out, errOut)
	}
	out, errOut, code = run(t, "status", "--gitops-repo", gitopsURL, "--env", "preview", "--path", "previews", "--stale", "--delete", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "deleted stale frontend-missed-event") {
		t.Fatalf("status --stale --delete (%d): %s %s", code, out, errOut)
	}
	if left := w.gitops(t, "ls-tree", "--name-only", "main", "previews/"); left != "" {
		t.Errorf("previews left: %s", left)
	}
	out, _, code = run(t, "status", "--gitops-repo", gitopsURL, "--env", "preview", "--path", "previews", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "frontend-missed-event") || !strings.Contains(out, "delete") {
		t.Errorf("status:\n%s", out)
	}
}

func TestCleanupCommand(t *testing.T) {
	chdirRoot(t)
	gitopsDir := filepath.Join(t.TempDir(), "gitops")
	cache := []string{"--cache-dir", t.TempDir()}
	if _, errOut, code := run(t, append([]string{"release", "--gitops-repo", gitopsDir, "--artifact", "examples/artifact.json", "--env", "staging", "--chart-cache", t.TempDir()}, cache...)...); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := run(t, append([]string{"cleanup", "--gitops-repo", gitopsDir, "--env", "staging", "--app", "frontend"}, cache...)...)
	if code != 0 || !strings.Contains(out, "deleted frontend from staging") {
		t.Fatalf("cleanup (%d): %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(gitopsDir, "staging", "frontend")); !os.IsNotExist(err) {
		t.Errorf("the app folder is still there: %v", err)
	}
	if out, _, _ := run(t, append([]string{"cleanup", "--gitops-repo", gitopsDir, "--env", "staging", "--app", "frontend"}, cache...)...); !strings.Contains(out, "nothing to do") {
		t.Errorf("second cleanup: %s", out)
	}
}
