package app_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/auger-dev/auger/internal/githubfake"
)

// Two replicas of Auger behind one webhook URL share GitHub and the gitops repository and
// nothing else (each its own gitops cache). 40 /deploy of different apps spread over
// them, and every delivery also sent to the other replica, land once each: 40 commits,
// 40 replies, none lost.
func TestReplicasReleaseEachDeployOnce(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, agentTokens...) // with agents, so releases get Deployments
	second := newReplica(t, w, agentEnvironments, agentTokens...)
	w.repo.SetPermission("jane", "write")
	const n = 40
	apps := make([]string, n)
	for i := range apps {
		apps[i] = fmt.Sprintf("app-%02d", i)
	}
	// One env config file with a document per app (a monorepo's .auger/staging.yaml).
	var docs []string
	for _, app := range apps {
		docs = append(docs, w.envConfig(app, "staging", false))
	}
	_, pr := w.pullRequestWith(t, "many", map[string]string{".auger/staging.yaml": strings.Join(docs, "---\n")})

	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := w.repo.AddComment(pr, "jane", "/deploy staging "+app)
			p := githubfake.Payload(t, "issue_comment", "created")
			w.repo.RetargetComment(p, id)
			delivery := fmt.Sprintf("delivery-%d", i)
			// The same delivery reaches both replicas (a retry by GitHub, a load balancer
			// hiccup): both take it, one release comes out.
			hooks := []string{w.hook, second}
			if i%2 == 1 {
				hooks[0], hooks[1] = hooks[1], hooks[0]
			}
			for _, hook := range hooks {
				w.fake.Deliver(t, hook, testSecret, "issue_comment", delivery, p)
			}
		}()
	}
	wg.Wait()
	w.reply(t, pr, n)
	waitFor(t, func() bool { return w.gitops(t, "rev-list", "--count", "main") == fmt.Sprint(n) })
	if folders := strings.Fields(w.gitops(t, "ls-tree", "--name-only", "main", "staging/")); len(folders) != n {
		t.Errorf("app folders = %d, want %d", len(folders), n)
	}
	replies := 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			replies++
			if !strings.Contains(c.Body, "**Released**") {
				t.Errorf("a deploy did not release:\n%s", c.Body)
			}
		}
	}
	if replies != n || len(w.repo.Deployments()) != n {
		t.Errorf("%d replies and %d deployments for %d deploys", replies, len(w.repo.Deployments()), n)
	}
}

// newReplica starts a second Auger on the world's GitHub fake, git server and chart
// repository, with its own caches; it returns its webhook URL.
func newReplica(t *testing.T, w *releaseWorld, environments string, env ...string) string {
	t.Helper()
	cfgPath := writeFile(t, "auger-2.yaml", fmt.Sprintf("github: {pacingUnit: 1ms}\ncharts:\n  allowedSources: [%q]\ngitops:\n  cacheDir: %q\nenvironments:\n%s",
		w.chartURL, t.TempDir(), environments))
	hook, _, _ := startAuger(t, w.fake, cfgPath, append([]string{"AUGER_GITHUB_WEB_URL=" + w.git.URL + "/", "AUGER_CHART_CACHE_DIR=" + t.TempDir()}, env...)...)
	return hook
}
