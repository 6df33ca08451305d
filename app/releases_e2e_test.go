package app_test

import (
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/chartrepo"
	"github.com/auger-dev/auger/internal/githubfake"
	"github.com/auger-dev/auger/internal/gitserver"
)

// releaseWorld is GitHub (the fake), a gitops repository behind a smart-HTTP git server
// that takes the App's installation tokens, a Helm chart repository, and Auger.
type releaseWorld struct {
	*world
	git        *gitserver.Server
	gitopsRepo *githubfake.Repo
	chartURL   string
}

func newReleaseWorld(t testing.TB, environments string, env ...string) *releaseWorld {
	t.Helper()
	fake := githubfake.New(t)
	fake.AddInstallation(installationID, "mycompany")
	repo := fake.AddRepo("mycompany", "frontend")
	gitopsRepo := fake.AddRepo("mycompany", "gitops")
	git := gitserver.StartWithAuth(t, func(user, pass string) bool {
		return user == "x-access-token" && fake.InstallationOfToken(pass) == installationID
	})
	git.Create(t, "mycompany/gitops")
	charts, _ := chartrepo.Serve(t, "../examples/charts/web")
	cfgPath := writeFile(t, "auger.yaml", fmt.Sprintf("github: {pacingUnit: 1ms}\ncharts:\n  allowedSources: [%q]\ngitops:\n  cacheDir: %q\nenvironments:\n%s", charts.URL, t.TempDir(), environments))
	hook, logs, srv := startAuger(t, fake, cfgPath, append([]string{"AUGER_GITHUB_WEB_URL=" + git.URL + "/", "AUGER_CHART_CACHE_DIR=" + t.TempDir()}, env...)...)
	w := &world{fake: fake, repo: repo, hook: hook, logs: logs, srv: srv}
	rw := &releaseWorld{world: w, git: git, gitopsRepo: gitopsRepo, chartURL: charts.URL}
	t.Cleanup(func() { rw.checkNoSecrets(t) })
	return rw
}

const defaultEnvironments = `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
    policyBranches: [main]
  - name: production
    gitops: {repository: mycompany/gitops, path: production}
    permission: maintain
    requireApproval: true
    production: true
    url: https://example.com
`

func (w *releaseWorld) envConfig(app, env string, policy bool) string {
	deploy := ""
	if policy {
		deploy = "deploy: {branch: main, event: push}\n"
	}
	return fmt.Sprintf("app: %s\nenv: %s\nnamespace: %s\nchart: {repository: %q, name: web, version: 0.1.0}\n%svalues:\n  image: {repository: ghcr.io/mycompany/%s, tag: \"{{ .SHA }}\"}\n",
		app, env, env, w.chartURL, deploy, app)
}

// pullRequest makes a commit on a branch with env configs, its green CI and recorded
// artifact, and a pull request by jane; it returns the head sha and the number.
func (w *releaseWorld) pullRequest(t testing.TB, branch string, apps ...string) (string, int) {
	t.Helper()
	files := map[string]string{}
	for _, app := range apps {
		files[".auger/"+app+"-staging.yaml"] = w.envConfig(app, "staging", false)
		files[".auger/"+app+"-production.yaml"] = w.envConfig(app, "production", false)
	}
	return w.pullRequestWith(t, branch, files)
}

// pullRequestWith is pullRequest with the commit's files given.
func (w *releaseWorld) pullRequestWith(t testing.TB, branch string, files map[string]string) (string, int) {
	t.Helper()
	sha := w.repo.AddCommit(githubfake.Commit{Branch: branch, Message: "Change " + branch, AuthorName: "Jane Doe", AuthorEmail: "jane@example.com", Files: files})
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	number := w.repo.AddPullRequest(githubfake.PullRequest{User: "jane", HeadRef: branch, HeadSHA: sha, Title: branch})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, sha)
	suite := p["check_suite"].(map[string]any)
	suite["head_branch"] = branch
	suite["pull_requests"] = []any{map[string]any{"url": "https://api.github.com/x", "id": number, "number": number,
		"head": map[string]any{"ref": branch, "sha": sha, "repo": map[string]any{"id": w.repo.ID, "url": "x", "name": "frontend"}},
		"base": map[string]any{"ref": "main", "sha": sha, "repo": map[string]any{"id": w.repo.ID, "url": "x", "name": "frontend"}}}}
	w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p)
	w.waitForArtifact(t, sha)
	return sha, number
}

// comment posts a comment as login and delivers its webhook; it returns the comment id.
func (w *releaseWorld) comment(t testing.TB, number int, login, body, delivery string) int64 {
	t.Helper()
	id := w.repo.AddComment(number, login, body)
	w.redeliverComment(t, id, delivery)
	return id
}

func (w *releaseWorld) redeliverComment(t testing.TB, id int64, delivery string) {
	t.Helper()
	p := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(p, id)
	if resp := w.fake.Deliver(t, w.hook, testSecret, "issue_comment", delivery, p); resp.StatusCode != http.StatusOK {
		t.Fatalf("issue_comment answered %d", resp.StatusCode)
	}
}

// reply waits for Auger's reply to a comment (the n-th reply on the pull request).
func (w *releaseWorld) reply(t testing.TB, number, n int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var replies []string
		for _, c := range w.repo.Comments(number) {
			if strings.Contains(c.Body, "auger:trigger=") {
				replies = append(replies, c.Body)
			}
		}
		if len(replies) >= n {
			return replies[n-1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no reply %d on #%d; logs:\n%s", n, number, w.logs.String())
	return ""
}

func (w *releaseWorld) gitops(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", w.git.Dir("mycompany/gitops")}, args...)...).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestDeployFromPullRequestComment(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "new-feature", "frontend")
	before := len(w.fake.Requests())
	id := w.comment(t, pr, "jane", "/deploy staging", "deploy-1")
	reply := w.reply(t, pr, 1)
	calls := w.fake.Requests()[before:]
	ops := map[string]int{}
	for _, r := range calls {
		ops[r.OperationID]++
	}
	t.Logf("GitHub API calls for one /deploy: %d %v", len(calls), ops)

	if !strings.Contains(reply, "**Released** `frontend` `"+sha[:7]+"` to **staging**") || !strings.Contains(reply, "<details><summary>Objects: ") ||
		!strings.Contains(reply, "/rollback staging frontend") {
		t.Errorf("reply:\n%s", reply)
	}
	// The 👀 acknowledges; the reply tells the outcome, so no 🚀 repeats it.
	if r := w.repo.Reactions(id); strings.Join(r, ",") != "eyes" {
		t.Errorf("reactions = %v", r)
	}
	msg := w.gitops(t, "log", "-1", "--format=%B", "main")
	for _, want := range []string{"Release frontend " + sha[:7] + " to staging", "Auger-Triggered-By: jane", fmt.Sprintf("Auger-Trigger: comment:%d", id)} {
		if !strings.Contains(msg, want) {
			t.Errorf("gitops commit lacks %q:\n%s", want, msg)
		}
	}
	if files := w.gitops(t, "ls-tree", "--name-only", "main", "staging/frontend/"); !strings.Contains(files, "staging/frontend/deployment-frontend.yaml") {
		t.Errorf("gitops tree:\n%s", files)
	}
	var deploy *githubfake.CheckRun
	for _, cr := range w.augerRuns(sha) {
		if cr.Name == "Auger: deploy staging" {
			deploy = &cr
		}
	}
	// staging has no agent: nothing will report the rollout, so the check ends when the
	// gitops commit lands, and says why.
	if deploy == nil || deploy.Status != "completed" || deploy.Conclusion != "success" || !strings.Contains(deploy.Output.Summary, "No live status is reported for staging") ||
		len(deploy.Actions) != 1 || deploy.Actions[0].Identifier != "rollback" {
		t.Errorf("deploy check run = %+v", deploy)
	}
	// Nor does it get a Deployment: one could only repeat the check run (docs/github-app.md).
	if deps := w.repo.Deployments(); len(deps) != 0 {
		t.Errorf("deployments = %+v", deps)
	}

	// A redelivered comment makes no second release, and no second reply.
	w.redeliverComment(t, id, "deploy-1-again")
	time.Sleep(300 * time.Millisecond)
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "1" {
		t.Errorf("gitops commits after a redelivery = %s", n)
	}
	if n := len(w.deployRuns(sha, "staging")); n != 1 {
		t.Errorf("deploy check runs after a redelivery = %d", n)
	}
	replies := 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			replies++
		}
	}
	if replies != 1 {
		t.Errorf("%d replies after a redelivery", replies)
	}
}

// TestDeployBudget counts the GitHub requests of one /deploy in steady state (the
// installation's token already bought), per operation: docs/github-app.md justifies each.
func TestDeployBudget(t *testing.T) {
	for name, tc := range map[string]struct {
		environments string
		env          []string
		want         map[string]int
	}{
		"with an agent": {agentEnvironments, []string{"STAGING_AGENT_TOKEN=s", "PRODUCTION_AGENT_TOKEN=p"}, map[string]int{
			"repos/get-collaborator-permission-level": 1, "pulls/get": 1, "checks/list-for-ref": 1,
			"reactions/create-for-issue-comment": 1, "checks/create": 1, "repos/create-deployment": 1, "issues/create-comment": 1}},
		// No Deployment: it could only repeat the check run.
		"without an agent": {defaultEnvironments, nil, map[string]int{
			"repos/get-collaborator-permission-level": 1, "pulls/get": 1, "checks/list-for-ref": 1,
			"reactions/create-for-issue-comment": 1, "checks/create": 1, "issues/create-comment": 1}},
	} {
		t.Run(name, func(t *testing.T) {
			w := newReleaseWorld(t, tc.environments, tc.env...)
			w.repo.SetPermission("jane", "write")
			_, pr := w.pullRequest(t, "new-feature", "frontend")
			// Steady state: the installation's token is bought and the gitops clone warm.
			w.comment(t, pr, "jane", "/deploy staging", "warm-up")
			w.reply(t, pr, 1)
			_, pr = w.pullRequest(t, "other-feature", "frontend")
			time.Sleep(100 * time.Millisecond)
			before := len(w.fake.Requests())
			w.comment(t, pr, "jane", "/deploy staging", "deploy-1")
			w.reply(t, pr, 1)
			time.Sleep(200 * time.Millisecond) // anything late would be counted
			ops, creating := map[string]int{}, 0
			calls := w.fake.Requests()[before:]
			for _, r := range calls {
				ops[r.OperationID]++
				if r.Method != http.MethodGet {
					creating++
				}
			}
			t.Logf("one /deploy %s: %d requests, %d creating: %v", name, len(calls), creating, ops)
			if len(calls) > 7 || creating > 4 {
				t.Errorf("one /deploy %s: %d requests, %d creating; the budget is 7, 4 creating", name, len(calls), creating)
			}
			if !maps.Equal(ops, tc.want) {
				t.Errorf("requests = %v, want %v", ops, tc.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments+`
  - name: qa
    gitops: {repository: mycompany/gitops, path: qa}
    teams: [mycompany/qa]
`)
	w.repo.SetPermission("jane", "write")
	w.repo.SetPermission("rita", "read")
	_, pr := w.pullRequest(t, "feature", "frontend")

	cases := []struct {
		name, login, body, want string
	}{
		{"read-only user", "rita", "/deploy staging", "@rita has read access"},
		{"needs maintain", "jane", "/deploy production", "production needs maintain or more"},
		{"not in team", "jane", "/deploy qa", "limited to mycompany/qa"},
		{"unknown environment", "jane", "/deploy moon", `no environment "moon"`},
		{"unknown app", "jane", "/deploy staging backend", "backend"},
		{"typo", "jane", "/deplyo staging", "did you mean /deploy"},
		{"bad name", "jane", "/deploy ../staging", "DNS"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := w.comment(t, pr, tc.login, tc.body, "")
			reply := w.reply(t, pr, i+1)
			if !strings.Contains(reply, tc.want) || !strings.Contains(reply, "😕") {
				t.Errorf("reply to %q:\n%s", tc.body, reply)
			}
			waitFor(t, func() bool { r := w.repo.Reactions(id); return len(r) > 0 && r[len(r)-1] == "confused" })
		})
	}
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "" && n != "0" {
		t.Errorf("refused commands wrote %s gitops commits", n)
	}

	// requireApproval: a maintainer without an approved review is refused, then allowed.
	w.repo.SetPermission("mia", "maintain")
	w.comment(t, pr, "mia", "/deploy production", "")
	if reply := w.reply(t, pr, len(cases)+1); !strings.Contains(reply, "requireApproval") || !strings.Contains(reply, "no approving review") {
		t.Errorf("approval refusal:\n%s", reply)
	}
	w.repo.AddReview(pr, githubfake.Review{User: "tom", State: "APPROVED"})
	w.comment(t, pr, "mia", "/deploy production", "")
	if reply := w.reply(t, pr, len(cases)+2); !strings.Contains(reply, "**Released**") {
		t.Errorf("approved deploy:\n%s", reply)
	}
}

func TestForksLocksAndMovedHeads(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "admin")

	// A fork pull request is refused. As GitHub shows it to the base repository, its head
	// commit is on no branch here, its head.repo is the fork, and the check suite of its
	// head names no branch and no pull request.
	base := w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "Base", Files: map[string]string{"README.md": "frontend"}})
	forkSHA := w.repo.AddCommit(githubfake.Commit{Message: "from a fork", Parents: []string{base}, Files: map[string]string{".auger/s.yaml": w.envConfig("frontend", "staging", false)}})
	w.repo.AddCheckRun(forkSHA, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	fork := w.repo.AddPullRequest(githubfake.PullRequest{User: "mallory", HeadRef: "fork-feature", HeadSHA: forkSHA, Fork: true})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, forkSHA)
	if suite := p["check_suite"].(map[string]any); suite["head_branch"] != nil || len(suite["pull_requests"].([]any)) != 0 {
		t.Fatalf("a fork head's check suite: head_branch %v, pull_requests %v", suite["head_branch"], suite["pull_requests"])
	}
	w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p)
	w.waitForArtifact(t, forkSHA)
	w.comment(t, fork, "jane", "/deploy staging", "")
	if reply := w.reply(t, fork, 1); !strings.Contains(reply, "allowForks") {
		t.Errorf("fork reply:\n%s", reply)
	}

	// Lock, refused deploy, unlock, deploy.
	_, pr := w.pullRequest(t, "feature", "frontend")
	w.comment(t, pr, "jane", "/lock staging release freeze for the audit", "")
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Locked** **staging**") || !strings.Contains(reply, "release freeze for the audit") {
		t.Errorf("lock reply:\n%s", reply)
	}
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 2); !strings.Contains(reply, "staging is locked by jane") || !strings.Contains(reply, "audit") {
		t.Errorf("locked deploy reply:\n%s", reply)
	}
	w.comment(t, pr, "jane", "/status", "")
	if reply := w.reply(t, pr, 3); !strings.Contains(reply, "🔒 jane") || !strings.Contains(reply, "| production |") {
		t.Errorf("status reply:\n%s", reply)
	}
	w.comment(t, pr, "jane", "/unlock staging", "")
	if reply := w.reply(t, pr, 4); !strings.Contains(reply, "**Unlocked** **staging**") {
		t.Errorf("unlock reply:\n%s", reply)
	}
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 5); !strings.Contains(reply, "**Released**") {
		t.Errorf("deploy after unlock:\n%s", reply)
	}

	// A comment written before the head moved does not deploy the new head.
	moved := w.repo.AddCommit(githubfake.Commit{Branch: "feature", Message: "pushed after the comment", Files: map[string]string{".auger/s.yaml": w.envConfig("frontend", "staging", false)}})
	stale := w.repo.AddComment(pr, "jane", "/deploy staging")
	time.Sleep(1100 * time.Millisecond) // GitHub's timestamps have whole seconds
	w.repo.AddCheckRun(moved, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	q := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(q, moved)
	q["check_suite"].(map[string]any)["pull_requests"] = []any{}
	w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", q)
	w.waitForArtifact(t, moved)
	w.redeliverComment(t, stale, "")
	if reply := w.reply(t, pr, 6); !strings.Contains(reply, "recorded after your comment") {
		t.Errorf("moved head reply:\n%s", reply)
	}
}

func TestRollbackButtonsAndPolicies(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")

	// A push to main whose env configs have deploy policies is released by them, both
	// apps at once, no commit lost.
	main := w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "Merge", Files: map[string]string{
		".auger/frontend.yaml": w.envConfig("frontend", "staging", true), ".auger/api.yaml": w.envConfig("api", "staging", true)}})
	w.repo.AddCheckRun(main, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, main, "")
	waitFor(t, func() bool {
		return strings.Count(w.gitops(t, "log", "--format=%B", "main"), "Auger-Triggered-By: policy") == 2
	})
	waitFor(t, func() bool { return len(w.deployRuns(main, "staging")) == 2 })

	// The "Deploy to staging" button of a pull request's artifact releases it as the clicker.
	sha, pr := w.pullRequest(t, "feature", "frontend")
	artifactRun := w.waitForArtifact(t, sha)
	click := githubfake.Payload(t, "check_run", "requested_action")
	w.repo.RetargetCheckRun(click, artifactRun.ID)
	click["requested_action"] = map[string]any{"identifier": "deploy:staging"}
	click["sender"].(map[string]any)["login"] = "jane"
	w.fake.Deliver(t, w.hook, testSecret, "check_run", "click-1", click)
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Released** `frontend` `"+sha[:7]+"`") {
		t.Errorf("button reply:\n%s", reply)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Triggered-By: jane") || !strings.Contains(msg, "Auger-Trigger: check-run:") {
		t.Errorf("button commit:\n%s", msg)
	}

	// /rollback restores the policy release (staging has two apps now: name one).
	w.comment(t, pr, "jane", "/rollback staging", "")
	if reply := w.reply(t, pr, 2); !strings.Contains(reply, "staging has 2 apps (api, frontend)") {
		t.Errorf("rollback without an app:\n%s", reply)
	}
	w.comment(t, pr, "jane", "/rollback staging frontend", "")
	reply := w.reply(t, pr, 3)
	if !strings.Contains(reply, "**Rolled back** `frontend` in **staging** from release 2") || !strings.Contains(reply, "to release 1 (`"+main[:7]) {
		t.Errorf("rollback reply:\n%s", reply)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Action: rollback") {
		t.Errorf("rollback commit:\n%s", msg)
	}

	// The "Roll back" button on the deploy check run does the same, as the clicker.
	var deployRun githubfake.CheckRun
	for _, cr := range w.augerRuns(sha) {
		if cr.Name == "Auger: deploy staging" {
			deployRun = cr
		}
	}
	w.repo.SetPermission("rita", "read")
	rb := githubfake.Payload(t, "check_run", "requested_action")
	w.repo.RetargetCheckRun(rb, deployRun.ID)
	rb["requested_action"] = map[string]any{"identifier": "rollback"}
	rb["sender"].(map[string]any)["login"] = "rita"
	w.fake.Deliver(t, w.hook, testSecret, "check_run", "", rb)
	if reply := w.reply(t, pr, 4); !strings.Contains(reply, "@rita has read access") {
		t.Errorf("rollback button by a reader:\n%s", reply)
	}
}

// 20 /deploy of different apps at once land as 20 gitops commits, none lost.
func TestConcurrentDeploys(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	const n = 20
	apps := make([]string, n)
	for i := range apps {
		apps[i] = fmt.Sprintf("app-%02d", i)
	}
	_, pr := w.pullRequest(t, "many", apps...)
	var wg sync.WaitGroup
	for _, app := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.comment(t, pr, "jane", "/deploy staging "+app, "")
		}()
	}
	wg.Wait()
	w.reply(t, pr, n)
	waitFor(t, func() bool { return w.gitops(t, "rev-list", "--count", "main") == fmt.Sprint(n) })
	if folders := strings.Fields(w.gitops(t, "ls-tree", "--name-only", "main", "staging/")); len(folders) != n {
		t.Errorf("app folders = %d, want %d", len(folders), n)
	}
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "😕") {
			t.Errorf("a deploy failed:\n%s", c.Body)
		}
	}
}

// Environments that take releases as gitops pull requests: merged by Auger (merge:
// auto), or left open for a person (merge: manual).
func TestDeployThroughGitopsPullRequests(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
    release: {mode: pull-request, merge: auto}
  - name: production
    gitops: {repository: mycompany/gitops, path: production}
    release: {mode: pull-request, merge: manual}
`)
	w.git.Populate(t, "mycompany/gitops", "infra", 1, 1, 1)
	gitopsRepo := w.gitopsRepo
	gitopsRepo.BackWithGit(w.git.Backend("mycompany/gitops"))
	w.repo.SetPermission("jane", "write")
	_, pr := w.pullRequest(t, "feature", "frontend")

	w.comment(t, pr, "jane", "/deploy staging", "")
	reply := w.reply(t, pr, 1)
	if !strings.Contains(reply, "gitops pull request [#1]") || !strings.Contains(reply, "merged as") {
		t.Fatalf("auto-merged reply:\n%s", reply)
	}
	if gpr, ok := gitopsRepo.PullRequest(1); !ok || !gpr.Merged || !strings.HasPrefix(gpr.HeadRef, "auger/staging/frontend-") {
		t.Errorf("gitops pull request = %+v", gpr)
	}
	if files := w.gitops(t, "ls-tree", "--name-only", "main", "staging/frontend/"); !strings.Contains(files, "release.json") {
		t.Errorf("the merge did not land the release:\n%s", files)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main^2"); !strings.Contains(msg, "Auger-Triggered-By: jane") {
		t.Errorf("release commit under the merge:\n%s", msg)
	}

	w.comment(t, pr, "jane", "/deploy production", "")
	reply = w.reply(t, pr, 2)
	if !strings.Contains(reply, "**Proposed**") || !strings.Contains(reply, "[#2]") {
		t.Fatalf("manual reply:\n%s", reply)
	}
	if gpr, ok := gitopsRepo.PullRequest(2); !ok || gpr.Merged || gpr.State != "open" {
		t.Errorf("manual gitops pull request = %+v", gpr)
	}
	if files := w.gitops(t, "ls-tree", "--name-only", "main", "production/"); files != "" {
		t.Errorf("an unmerged proposal reached main:\n%s", files)
	}
}

// requireChecks refuses while any CI check on the head is not green, even one started
// after the artifact was recorded (a re-run, say).
func TestRequireChecks(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
    requireChecks: true
`)
	w.repo.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "feature", "frontend")
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Status: "in_progress"})
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "requireChecks") || !strings.Contains(reply, "CI still running: build") {
		t.Errorf("pending check:\n%s", reply)
	}
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 2); !strings.Contains(reply, "**Released**") {
		t.Errorf("green checks:\n%s", reply)
	}
}

// checkNoSecrets looks for the secrets of a run (the webhook secret, the App's private
// key, installation and agent tokens) where users can see things: comments, Auger's check
// runs, the gitops repository's history.
func (w *releaseWorld) checkNoSecrets(t testing.TB) {
	secrets := []string{testSecret, "PRIVATE KEY", "ghs_", "agent-token"}
	var places []string
	for _, pr := range w.repo.PullRequests() {
		for _, c := range w.repo.Comments(pr.Number) {
			places = append(places, c.Body)
		}
		for _, cr := range w.repo.CheckRuns(pr.HeadSHA) {
			places = append(places, cr.Output.Title, cr.Output.Summary, cr.Output.Text)
			for _, a := range cr.Output.Annotations {
				places = append(places, a.Message)
			}
		}
	}
	places = append(places, w.gitops(t, "log", "-p", "--all"))
	for _, place := range places {
		for _, secret := range secrets {
			if strings.Contains(place, secret) {
				t.Errorf("a secret (%q) is visible:\n%.300s", secret, place)
			}
		}
	}
}
