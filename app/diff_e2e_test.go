package app_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// /diff on a pull request renders its artifact and compares it with the gitops
// repository, through the real server and the GitHub fake: no change, one changed field,
// an object added and one removed, and a diff too long for one comment. It writes
// nothing and creates no check run; a reader may ask, as for /status.
func TestDiffFromPullRequestComment(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	w.repo.SetPermission("rita", "read")
	config := func(extra string) map[string]string {
		return map[string]string{".auger/staging.yaml": fmt.Sprintf("app: frontend\nenv: staging\nnamespace: staging\nchart: {repository: %q, name: web, version: 0.1.0}\nvalues:\n  image: {repository: ghcr.io/mycompany/frontend, tag: v1}\n%s", w.chartURL, extra)}
	}
	_, released := w.pullRequestWith(t, "released", config(""))
	w.comment(t, released, "jane", "/deploy staging", "deploy-1")
	if reply := w.reply(t, released, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("deploy reply:\n%s", reply)
	}
	commits := w.gitops(t, "rev-list", "--count", "main")

	diff := func(t *testing.T, pr int, login string) string {
		t.Helper()
		pull, _ := w.repo.PullRequest(pr)
		sha := pull.HeadSHA
		runs := len(w.augerRuns(sha))
		for deadline := time.Now().Add(5 * time.Second); len(w.repo.Statuses(sha)) == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond) // recording ends with the commit status: not /diff's
		}
		before := len(w.fake.Requests())
		w.comment(t, pr, login, "/diff staging frontend", fmt.Sprintf("diff-%d-%s", pr, login))
		reply := w.reply(t, pr, countReplies(w, pr)+1)
		time.Sleep(100 * time.Millisecond) // anything late would be counted
		ops := map[string]int{}
		for _, r := range w.fake.Requests()[before:] {
			ops[r.OperationID]++
		}
		want := map[string]int{"reactions/create-for-issue-comment": 1, "pulls/get": 1, "checks/list-for-ref": 1, "issues/create-comment": 1}
		if !maps.Equal(ops, want) {
			t.Errorf("GitHub requests of one /diff = %v, want %v", ops, want)
		}
		if n := w.gitops(t, "rev-list", "--count", "main"); n != commits {
			t.Errorf("/diff made gitops commits: %s, was %s", n, commits)
		}
		if n := len(w.augerRuns(sha)); n != runs {
			t.Errorf("/diff created check runs: %d, was %d", n, runs)
		}
		if n := utf8.RuneCountInString(reply); n > 65536 {
			t.Errorf("reply is %d characters", n)
		}
		if strings.Count(reply, "<details>") != strings.Count(reply, "</details>") || strings.Count(reply, "```")%2 != 0 {
			t.Errorf("reply leaves a block open:\n%s", reply)
		}
		return reply
	}

	t.Run("no change", func(t *testing.T) {
		reply := diff(t, released, "rita")
		if !strings.Contains(reply, "no change in staging") || strings.Contains(reply, "<details>") {
			t.Errorf("reply:\n%s", reply)
		}
	})
	t.Run("one changed field", func(t *testing.T) {
		_, pr := w.pullRequestWith(t, "replicas", config("  replicas: 3\n"))
		reply := diff(t, pr, "jane")
		if !strings.Contains(reply, "1 object changes in staging (1 changed)") || !strings.Contains(reply, "<code>~ frontend/deployment-frontend.yaml</code> changed") ||
			!strings.Contains(reply, "\n-  replicas: 1\n+  replicas: 3\n") {
			t.Errorf("reply:\n%s", reply)
		}
		if strings.Contains(reply, "auger.dev/release") || strings.Contains(reply, "auger.dev/sha") {
			t.Errorf("Auger's release annotations show in the diff:\n%s", reply)
		}
	})
	t.Run("an object added and one removed", func(t *testing.T) {
		_, pr := w.pullRequestWith(t, "ingress", config("  ingress: {host: frontend.example.com}\nstrategicMergePatches: |\n  $patch: delete\n  apiVersion: v1\n  kind: Service\n  metadata: {name: frontend}\n"))
		reply := diff(t, pr, "jane")
		if !strings.Contains(reply, "2 objects change in staging (1 added, 1 removed)") ||
			!strings.Contains(reply, "<code>+ frontend/ingress-frontend.yaml</code> added") || !strings.Contains(reply, "+  - host: frontend.example.com") ||
			!strings.Contains(reply, "<code>- frontend/service-frontend.yaml</code> removed") || !strings.Contains(reply, "-kind: Service") {
			t.Errorf("reply:\n%s", reply)
		}
	})
	t.Run("too long for one comment", func(t *testing.T) {
		var manifests strings.Builder
		for i := range 200 {
			fmt.Fprintf(&manifests, "  ---\n  {apiVersion: v1, kind: ConfigMap, metadata: {name: big-%03d}, data: {key: value}}\n", i)
		}
		_, pr := w.pullRequestWith(t, "big", config("manifests: |\n"+manifests.String()))
		reply := diff(t, pr, "jane")
		if !strings.Contains(reply, "200 objects change in staging (200 added)") || !strings.Contains(reply, "more objects left out: a comment holds at most") ||
			!strings.Contains(reply, "`auger diff`") || !strings.Contains(reply, "big-000.yaml") || strings.Contains(reply, "big-199.yaml") {
			t.Errorf("reply (%d characters):\n%.3000s", utf8.RuneCountInString(reply), reply)
		}
	})
}

func countReplies(w *releaseWorld, pr int) int {
	n := 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			n++
		}
	}
	return n
}
