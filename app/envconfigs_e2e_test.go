package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

// Cleanups read .auger/ as recording does, through one reader: a non-YAML file there is
// no env config for either (here a former env config renamed to api.json, which
// recording leaves out and whose app the cleanup must leave alone), and a broken file
// is reported (logged for a cleanup, which has no check run) while the valid env
// configs' apps are still cleaned up. Not finding the recorded artifact because GitHub
// failed is logged, not passed over.
func TestCleanupReadsEnvConfigsAsRecordingDoes(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: preview
    gitops: {repository: mycompany/gitops, path: previews}
`)
	frontend := fmt.Sprintf(previewConfig, w.chartURL, "prClosed")
	api := strings.Replace(frontend, "app: frontend", "app: api", 1)
	_, pr := w.pullRequestWith(t, "feature", map[string]string{".auger/frontend.yaml": frontend, ".auger/api.yaml": api})
	waitFor(t, func() bool {
		return w.gitops(t, "ls-tree", "--name-only", "main", "previews/") == "previews/api-feature\npreviews/frontend-feature"
	})

	// The pull request's next commit: api's env config renamed away from .yaml, and a
	// broken env config added.
	broken := "app: web\nenv: preview\nnamespace: previews\nreplica: 2\n"
	head := w.repo.AddCommit(githubfake.Commit{Branch: "feature", Message: "Retire the api preview", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
		Files: map[string]string{".auger/frontend.yaml": frontend, ".auger/api.json": api, ".auger/broken.yaml": broken}})
	w.repo.AddCheckRun(head, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, head)
	w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p)
	cr := w.waitForArtifact(t, head)
	if cr.Conclusion != "failure" || !strings.Contains(cr.Output.Summary, ".auger/broken.yaml:4") || strings.Contains(cr.Output.Summary, "api.json") {
		t.Fatalf("artifact check run %s:\n%s", cr.Conclusion, cr.Output.Summary)
	}

	// GitHub fails the cleanup's look for a recorded artifact: .auger/ is read instead.
	var failChecks atomic.Bool
	w.fake.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if failChecks.Load() && strings.HasSuffix(r.URL.Path, "/commits/"+head+"/check-runs") {
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusForbidden)
				rw.Write([]byte(`{"message":"Resource not accessible by integration"}`)) //nolint:errcheck
				return
			}
			next.ServeHTTP(rw, r)
		})
	})
	failChecks.Store(true)
	closed := githubfake.Payload(t, "pull_request", "closed")
	w.repo.RetargetPull(closed, pr)
	closed["pull_request"].(map[string]any)["state"] = "closed"
	w.fake.Deliver(t, w.hook, testSecret, "pull_request", "", closed)

	waitFor(t, func() bool {
		return strings.Contains(w.gitops(t, "log", "-1", "--format=%B", "main"), "Auger-Action: delete")
	})
	time.Sleep(300 * time.Millisecond)
	if left := w.gitops(t, "ls-tree", "--name-only", "main", "previews/"); left != "previews/api-feature" {
		t.Errorf("previews left after the cleanup: %q, want previews/api-feature (api.json is no env config)", left)
	}
	logs := w.logs.String()
	for _, want := range []string{`.auger/broken.yaml:4: unknown field \"replica\"`, "could not look for the recorded artifact", "Resource not accessible by integration"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
