package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/githubfake"
)

// Forks, end to end: code from a fork reaches an environment only when its config says
// allowForks, by any path (a Deploy button, a Roll back button, a deploy policy, a
// /deploy comment, a cleanup). The fork is modelled as GitHub shows it to the base
// repository: its head commit is on no branch here, its pull request's head.repo is the
// fork, and the check events of its head carry no pull request and a null head_branch
// (Retarget derives both, as GitHub does). Each case has a control from the base
// repository that does release, so no test passes by doing nothing.

// mainCommit puts a commit with files on main.
func (w *releaseWorld) mainCommit(t testing.TB, files map[string]string) string {
	t.Helper()
	return w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "Base", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com", Files: files})
}

// forkCommit adds a commit of mallory's fork as GitHub keeps it in the base repository
// (refs/pull/N/head): on no branch, its parent the head of main. The message tells
// commits with the same files apart (the fake derives a sha from the content).
func (w *releaseWorld) forkCommit(t testing.TB, message string, files map[string]string) string {
	t.Helper()
	var parents []string
	if main := w.repo.Head("main"); main != "" {
		parents = []string{main}
	}
	sha := w.repo.AddCommit(githubfake.Commit{Message: message, AuthorName: "Mallory", AuthorEmail: "mallory@example.com",
		AuthorLogin: "mallory", Parents: parents, Files: files})
	if len(w.repo.CheckRuns(sha)) != 0 {
		t.Fatalf("fork commit %s is not new", sha[:7])
	}
	return sha
}

// ciPassed adds a green CI check run to sha and delivers check_suite.completed exactly
// as GitHub derives it from the fake's branches and pull requests (head_branch and
// pull_requests untouched after Retarget); it returns the delivered check_suite.
func (w *releaseWorld) ciPassed(t testing.TB, sha string) map[string]any {
	t.Helper()
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, sha)
	suite := p["check_suite"].(map[string]any)
	person := map[string]any{"name": "Somebody", "email": "somebody@example.com"}
	suite["head_commit"] = map[string]any{"id": sha, "tree_id": sha, "message": "Improve things",
		"timestamp": "2026-11-21T10:00:00Z", "author": person, "committer": person}
	if resp := w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p); resp.StatusCode != http.StatusOK {
		t.Fatalf("check_suite answered %d", resp.StatusCode)
	}
	return suite
}

// asGitHubSendsForAFork fails the test unless the check payload names no branch and no
// pull request: what GitHub sends for a fork's head.
func asGitHubSendsForAFork(t testing.TB, holder map[string]any) {
	t.Helper()
	if prs, _ := holder["pull_requests"].([]any); holder["head_branch"] != nil || prs == nil || len(prs) != 0 {
		t.Fatalf("not a fork head's check payload: head_branch %v, pull_requests %v", holder["head_branch"], holder["pull_requests"])
	}
}

// forkPullRequest opens a pull request from mallory/frontend whose head commit has the
// files given, and runs CI on it; it returns the head sha and the number.
func (w *releaseWorld) forkPullRequest(t testing.TB, headRef string, files map[string]string) (string, int) {
	t.Helper()
	sha := w.forkCommit(t, "Improve things from mallory:"+headRef, files)
	number := w.repo.AddPullRequest(githubfake.PullRequest{User: "mallory", HeadRef: headRef, HeadSHA: sha, Fork: true, Title: "Improve things"})
	if pr, _ := w.repo.PullRequest(number); !pr.Fork {
		t.Fatalf("#%d is no fork pull request", number)
	}
	asGitHubSendsForAFork(t, w.ciPassed(t, sha))
	return sha, number
}

// basePullRequest opens a pull request by jane from a branch of the base repository,
// and runs CI on its head; it returns the head sha and the number.
func (w *releaseWorld) basePullRequest(t testing.TB, branch string, files map[string]string) (string, int) {
	t.Helper()
	var parents []string
	if main := w.repo.Head("main"); main != "" {
		parents = []string{main}
	}
	sha := w.repo.AddCommit(githubfake.Commit{Branch: branch, Message: "Change " + branch, AuthorName: "Jane Doe", AuthorEmail: "jane@example.com", Parents: parents, Files: files})
	number := w.repo.AddPullRequest(githubfake.PullRequest{User: "jane", HeadRef: branch, HeadSHA: sha, Title: branch})
	suite := w.ciPassed(t, sha)
	if prs, _ := suite["pull_requests"].([]any); suite["head_branch"] != branch || len(prs) != 1 {
		t.Fatalf("a base pull request's check suite: head_branch %v, pull_requests %v", suite["head_branch"], suite["pull_requests"])
	}
	return sha, number
}

// recorded waits until Auger has handled the recording of sha to the end, deploy
// policies included (it logs "artifact recording" after them).
func (w *releaseWorld) recorded(t testing.TB, logs *syncBuffer, sha string) {
	t.Helper()
	waitForLog(t, logs, `"message":"artifact recording"`, `"sha":"`+sha+`"`, `"outcome":"recorded"`)
}

// waitForLog waits for a log line holding every part.
func waitForLog(t testing.TB, logs *syncBuffer, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			found := true
			for _, p := range parts {
				found = found && strings.Contains(line, p)
			}
			if found {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q; logs:\n%s", parts, logs.String())
	return ""
}

// eventually waits (boundedly) for ok.
func eventually(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 20s")
}

// click delivers a click on a button of one of Auger's check runs, by login, to hook;
// it returns the check_run of the payload.
func (w *releaseWorld) click(t testing.TB, hook string, run githubfake.CheckRun, identifier, login, delivery string) map[string]any {
	t.Helper()
	p := githubfake.Payload(t, "check_run", "requested_action")
	w.repo.RetargetCheckRun(p, run.ID)
	p["requested_action"] = map[string]any{"identifier": identifier}
	p["sender"].(map[string]any)["login"] = login
	if resp := w.fake.Deliver(t, hook, testSecret, "check_run", delivery, p); resp.StatusCode != http.StatusOK {
		t.Fatalf("check_run answered %d", resp.StatusCode)
	}
	return p["check_run"].(map[string]any)
}

// commentVia posts a comment as login and delivers it to hook.
func (w *releaseWorld) commentVia(t testing.TB, hook string, number int, login, body string) {
	t.Helper()
	id := w.repo.AddComment(number, login, body)
	p := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(p, id)
	if resp := w.fake.Deliver(t, hook, testSecret, "issue_comment", "", p); resp.StatusCode != http.StatusOK {
		t.Fatalf("issue_comment answered %d", resp.StatusCode)
	}
}

// closePull delivers pull_request.closed for a pull request, its head.repo as the API
// shows it (the fork for a fork's pull request).
func (w *releaseWorld) closePull(t testing.TB, number int, wantHeadRepo string) {
	t.Helper()
	p := githubfake.Payload(t, "pull_request", "closed")
	w.repo.RetargetPull(p, number)
	pr := p["pull_request"].(map[string]any)
	pr["state"] = "closed"
	if got := pr["head"].(map[string]any)["repo"].(map[string]any)["full_name"]; got != wantHeadRepo {
		t.Fatalf("#%d's head.repo is %v, want %s", number, got, wantHeadRepo)
	}
	if resp := w.fake.Deliver(t, w.hook, testSecret, "pull_request", "", p); resp.StatusCode != http.StatusOK {
		t.Fatalf("pull_request answered %d", resp.StatusCode)
	}
}

// deployRuns are Auger's "Auger: deploy <env>" check runs on sha, oldest first.
func (w *releaseWorld) deployRuns(sha, env string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, cr := range w.augerRuns(sha) {
		if cr.Name == commands.CheckDeployPrefix+env {
			out = append(out, cr)
		}
	}
	return out
}

func actionIDs(cr githubfake.CheckRun) []string {
	var ids []string
	for _, a := range cr.Actions {
		ids = append(ids, a.Identifier)
	}
	return ids
}

// startAnotherAuger runs a second Auger on the world's GitHub fake, git server and chart
// repository, with other environments (an operator's changed config); it returns its
// webhook URL and logs.
func startAnotherAuger(t *testing.T, w *releaseWorld, environments string) (string, *syncBuffer) {
	t.Helper()
	cfgPath := writeFile(t, "auger-other.yaml", fmt.Sprintf("github: {pacingUnit: 1ms}\ncharts:\n  allowedSources: [%q]\ngitops:\n  cacheDir: %q\nenvironments:\n%s",
		w.chartURL, t.TempDir(), environments))
	hook, logs, _ := startAuger(t, w.fake, cfgPath, "AUGER_GITHUB_WEB_URL="+w.git.URL+"/", "AUGER_CHART_CACHE_DIR="+t.TempDir())
	return hook, logs
}

// 1. The "Deploy to <env>" button. A fork's head gets no button for an environment that
// refuses forks, and a click crafted anyway releases nothing: refused on the fork's pull
// request (found by the rules, as the click names none), or, for a commit with no pull
// request at all, on the clicked check run.
func TestForkDeployButton(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "admin")
	w.mainCommit(t, map[string]string{"README.md": "frontend"})
	staging := map[string]string{".auger/frontend-staging.yaml": w.envConfig("frontend", "staging", false)}

	// Control: the button on a base pull request's head releases it.
	baseSHA, basePR := w.basePullRequest(t, "feature", staging)
	baseRun := w.waitForArtifact(t, baseSHA)
	if ids := actionIDs(baseRun); strings.Join(ids, ",") != "deploy:staging" {
		t.Fatalf("base head's buttons = %v", ids)
	}
	w.click(t, w.hook, baseRun, "deploy:staging", "jane", "click-base")
	if reply := w.reply(t, basePR, 1); !strings.Contains(reply, "**Released** `frontend` `"+baseSHA[:7]+"` to **staging**") {
		t.Fatalf("control click:\n%s", reply)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Release frontend "+baseSHA[:7]+" to staging") || !strings.Contains(msg, "Auger-Triggered-By: jane") {
		t.Fatalf("control release commit:\n%s", msg)
	}
	released := w.gitops(t, "rev-parse", "main")

	// A fork's pull request: recorded, without a button for staging.
	forkSHA, forkPR := w.forkPullRequest(t, "patch-1", staging)
	forkRun := w.waitForArtifact(t, forkSHA)
	if forkRun.Conclusion != "success" {
		t.Errorf("fork artifact conclusion = %s", forkRun.Conclusion)
	}
	if len(forkRun.Actions) != 0 {
		t.Errorf("fork head's buttons = %v", actionIDs(forkRun))
	}
	if !strings.Contains(forkRun.Output.Summary, "**Not releasable to staging**: it comes from the fork mallory/frontend") {
		t.Errorf("fork artifact summary:\n%s", forkRun.Output.Summary)
	}
	// A click anyway (a crafted delivery, a stale page), by an admin.
	asGitHubSendsForAFork(t, w.click(t, w.hook, forkRun, "deploy:staging", "jane", "click-fork")["check_suite"].(map[string]any))
	reply := w.reply(t, forkPR, 1)
	if !strings.Contains(reply, "allowForks") || !strings.Contains(reply, "mallory/frontend") || !strings.Contains(reply, "😕") {
		t.Errorf("fork click reply:\n%s", reply)
	}
	if got := w.gitops(t, "rev-parse", "main"); got != released {
		t.Errorf("the fork click wrote to the gitops repository:\n%s", w.gitops(t, "log", "-3", "--format=%B", "main"))
	}
	if runs := w.deployRuns(forkSHA, "staging"); len(runs) != 0 {
		t.Errorf("deploy check runs on the fork head: %+v", runs)
	}
	for _, d := range w.repo.Deployments() {
		if d.Ref == forkSHA {
			t.Errorf("a deployment of the fork head: %+v", d)
		}
	}

	// A commit on no branch and with no pull request: refused, told on the clicked run.
	lone := w.forkCommit(t, "A commit of no pull request", staging)
	asGitHubSendsForAFork(t, w.ciPassed(t, lone))
	loneRun := w.waitForArtifact(t, lone)
	if len(loneRun.Actions) != 0 || !strings.Contains(loneRun.Output.Summary, "**Not releasable to staging**: its origin is unknown") {
		t.Errorf("lone commit's artifact: buttons %v, summary:\n%s", actionIDs(loneRun), loneRun.Output.Summary)
	}
	asGitHubSendsForAFork(t, w.click(t, w.hook, loneRun, "deploy:staging", "jane", "click-lone")["check_suite"].(map[string]any))
	var told githubfake.CheckRun
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(told.Output.Summary, "was not done") {
		for _, cr := range w.augerRuns(lone) {
			if cr.ID == loneRun.ID {
				told = cr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	const line = "> 😕 **/deploy staging**, clicked by @jane, was not done: allowForks: "
	if !strings.HasPrefix(told.Output.Summary, line) || !strings.Contains(told.Output.Summary, loneRun.Output.Summary) {
		t.Errorf("the clicked check run's summary:\n%s\nlogs:\n%s", told.Output.Summary, w.logs.String())
	}
	if got := w.gitops(t, "rev-parse", "main"); got != released {
		t.Errorf("the lone commit's click wrote to the gitops repository:\n%s", w.gitops(t, "log", "-3", "--format=%B", "main"))
	}
	for _, pr := range []int{basePR, forkPR} {
		for _, c := range w.repo.Comments(pr) {
			if strings.Contains(c.Body, "click-lone") {
				t.Errorf("the lone commit's refusal went to #%d:\n%s", pr, c.Body)
			}
		}
	}
}

const forkRollbackEnvironments = `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}%s
`

// 2. The "Roll back" button judges the release it would restore. Two Augers share GitHub
// and the gitops repository, one whose staging takes forks for previews (A) and one whose
// staging refuses them (B). A fork's release of the base app sits in staging's history
// (written before these rules), then a base release; rolling back to the fork's release is
// refused by B (button and /rollback) and by A (frontend is no preview). Control: B's Roll
// back button restores an earlier base release.
func TestForkRollback(t *testing.T) {
	w := newReleaseWorld(t, fmt.Sprintf(forkRollbackEnvironments, "\n    allowForks: true"))
	refusingHook, refusingLogs := startAnotherAuger(t, w, fmt.Sprintf(forkRollbackEnvironments, ""))
	w.repo.SetPermission("jane", "admin")
	w.mainCommit(t, map[string]string{"README.md": "frontend"})
	staging := map[string]string{".auger/frontend-staging.yaml": w.envConfig("frontend", "staging", false)}
	shaA, prA := w.basePullRequest(t, "feature-a", staging)
	shaB, prB := w.basePullRequest(t, "feature-b", staging)
	forkSHA, _ := w.forkPullRequest(t, "patch-1", staging)
	for _, sha := range []string{shaA, shaB, forkSHA} {
		w.waitForArtifact(t, sha)
	}
	repliesB := 0
	replyB := func(t *testing.T) string {
		t.Helper()
		repliesB++
		return w.reply(t, prB, repliesB)
	}

	// A releases A's head, then B's.
	w.commentVia(t, w.hook, prA, "jane", "/deploy staging")
	if reply := w.reply(t, prA, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("deploy of #%d:\n%s", prA, reply)
	}
	w.commentVia(t, w.hook, prB, "jane", "/deploy staging")
	if reply := replyB(t); !strings.Contains(reply, "**Released**") {
		t.Fatalf("deploy of #%d:\n%s", prB, reply)
	}
	runs := w.deployRuns(shaB, "staging")
	if len(runs) != 1 {
		t.Fatalf("deploy check runs on %s: %+v", shaB[:7], runs)
	}

	// Control: B's Roll back button restores the base release before.
	w.click(t, refusingHook, runs[0], commands.RollbackActionID, "jane", "rollback-1")
	if reply := replyB(t); !strings.Contains(reply, "**Rolled back** `frontend` in **staging**") || !strings.Contains(reply, "(`"+shaA[:7]+"`)") {
		t.Fatalf("control rollback by the refusing Auger:\n%s\nlogs:\n%s", reply, refusingLogs.String())
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Action: rollback") || !strings.Contains(msg, "Auger-Sha: "+shaA) {
		t.Fatalf("control rollback commit:\n%s", msg)
	}

	// The fork's head lands in staging the way only a writer without these rules could
	// (an Auger from before them, or a person): straight into the gitops repository. Then
	// A releases B's head again.
	legacy, err := gitops.Open(gitops.Remote{URL: w.git.Dir("mycompany/gitops")}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.Release(context.Background(), gitops.Release{
		Target: gitops.Target{Env: "staging", Path: "staging", App: "frontend"}, Actor: gitops.Actor{TriggeredBy: "legacy", Trigger: "legacy:1"},
		Namespace: "staging", Artifact: commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, forkSHA),
		Version: artifact.Version{RepositoryName: "mycompany/frontend", SHA: forkSHA, Event: artifact.EventPR},
		Files:   map[string][]byte{"configmap-frontend.yaml": []byte("kind: ConfigMap\nmetadata: {name: frontend}\ndata: {from: mallory}\n")},
	}); err != nil {
		t.Fatal(err)
	}
	w.commentVia(t, w.hook, prB, "jane", "/deploy staging")
	if reply := replyB(t); !strings.Contains(reply, "**Released**") {
		t.Fatalf("redeploy of #%d:\n%s", prB, reply)
	}
	var latest githubfake.CheckRun
	for _, cr := range w.deployRuns(shaB, "staging") {
		if cr.ID > latest.ID {
			latest = cr
		}
	}
	if latest.ID == runs[0].ID {
		t.Fatalf("no new deploy check run on %s", shaB[:7])
	}
	current := w.gitops(t, "rev-parse", "main")

	// B refuses to restore the fork's release: the button (whose default target it is),
	// and /rollback naming it.
	w.click(t, refusingHook, latest, commands.RollbackActionID, "jane", "rollback-2")
	if reply := replyB(t); !strings.Contains(reply, "allowForks") || !strings.Contains(reply, "mallory/frontend") || strings.Contains(reply, "**Rolled back**") {
		t.Errorf("B's rollback to the fork's release:\n%s", reply)
	}
	w.commentVia(t, refusingHook, prB, "jane", "/rollback staging frontend to "+forkSHA)
	if reply := replyB(t); !strings.Contains(reply, "allowForks") || strings.Contains(reply, "**Rolled back**") {
		t.Errorf("B's /rollback to the fork's sha:\n%s", reply)
	}
	if got := w.gitops(t, "rev-parse", "main"); got != current {
		t.Errorf("a refused rollback wrote to the gitops repository:\n%s", w.gitops(t, "log", "-2", "--format=%B", "main"))
	}
	if runs := w.deployRuns(forkSHA, "staging"); len(runs) != 0 {
		t.Errorf("deploy check runs on the fork head after B's refusals: %d", len(runs))
	}

	// A's staging takes forks, but for previews only: frontend is none, so A refuses too.
	w.click(t, w.hook, latest, commands.RollbackActionID, "jane", "rollback-3")
	if reply := replyB(t); !strings.Contains(reply, "previews only") || strings.Contains(reply, "**Rolled back**") {
		t.Errorf("A's rollback to the fork's release:\n%s", reply)
	}
	if got := w.gitops(t, "rev-parse", "main"); got != current {
		t.Errorf("A's refused rollback wrote to the gitops repository")
	}
}

// pushPolicyConfig is an env config released by every push, whatever the branch.
func (w *releaseWorld) pushPolicyConfig() string {
	return strings.Replace(w.envConfig("frontend", "staging", true), "deploy: {branch: main, event: push}", "deploy: {event: push}", 1)
}

// 3. A push policy with no branch filter. A fork's pull request head is a pr artifact; a
// commit on no branch with no pull request looks like a push, matches the policy and is
// still not released: its origin cannot be established. Control: a push to main is
// released by the same policy.
func TestForkPushPolicy(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
`)
	files := map[string]string{".auger/frontend.yaml": w.pushPolicyConfig()}
	if !strings.Contains(files[".auger/frontend.yaml"], "deploy: {event: push}\n") {
		t.Fatalf("env config:\n%s", files[".auger/frontend.yaml"])
	}

	// Control: a push to main.
	main := w.mainCommit(t, files)
	w.ciPassed(t, main)
	w.recorded(t, w.logs, main)
	msg := w.gitops(t, "log", "-1", "--format=%B", "main")
	if !strings.Contains(msg, "Release frontend "+main[:7]+" to staging") || !strings.Contains(msg, "Auger-Triggered-By: policy") {
		t.Fatalf("policy release of main:\n%s\nlogs:\n%s", msg, w.logs.String())
	}
	released := w.gitops(t, "rev-parse", "main")

	// A fork's pull request.
	forkSHA, _ := w.forkPullRequest(t, "patch-1", files)
	w.recorded(t, w.logs, forkSHA)
	if run := w.waitForArtifact(t, forkSHA); run.Conclusion != "success" || !strings.Contains(run.Output.Summary, "**Not releasable to staging**") {
		t.Errorf("fork artifact (%s):\n%s", run.Conclusion, run.Output.Summary)
	}

	// A commit on no branch and no pull request, its CI's check_run completing.
	lone := w.forkCommit(t, "A commit of no pull request", files)
	w.repo.AddCheckRun(lone, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	p := githubfake.Payload(t, "check_run", "completed")
	w.repo.Retarget(p, lone)
	asGitHubSendsForAFork(t, p["check_run"].(map[string]any)["check_suite"].(map[string]any))
	if prs := p["check_run"].(map[string]any)["pull_requests"].([]any); len(prs) != 0 {
		t.Fatalf("check_run.pull_requests = %v", prs)
	}
	w.fake.Deliver(t, w.hook, testSecret, "check_run", "", p)
	w.recorded(t, w.logs, lone)
	if run := w.waitForArtifact(t, lone); !strings.Contains(run.Output.Summary, "**Not releasable to staging**: its origin is unknown") {
		t.Errorf("lone commit's artifact:\n%s", run.Output.Summary)
	}
	waitForLog(t, w.logs, `"message":"policy release refused"`, "allowForks", lone[:7])
	// The refusal is told where people look: the artifact check run's policy section.
	waitFor(t, func() bool {
		run := w.waitForArtifact(t, lone)
		return strings.Contains(run.Output.Summary, "⛔ `frontend` not released to **staging**: allowForks")
	})

	if got := w.gitops(t, "rev-parse", "main"); got != released {
		t.Errorf("a fork's commit was released by policy:\n%s", w.gitops(t, "log", "-3", "--format=%B", "main"))
	}
	for _, sha := range []string{forkSHA, lone} {
		if runs := w.deployRuns(sha, "staging"); len(runs) != 0 {
			t.Errorf("deploy check runs on %s: %+v", sha[:7], runs)
		}
	}
}

// previewEnvConfig is previewConfig for another environment.
func (w *releaseWorld) previewEnvConfig(env string) string {
	return strings.Replace(fmt.Sprintf(previewConfig, w.chartURL, "prClosed"), "env: preview\n", "env: "+env+"\n", 1)
}

// 4. A pr policy on previews. The fork's pull request gets no preview where forks are
// refused, and one named after the pull request (never after the base app, never after a
// branch) where they are allowed; closing it removes that preview. Control: a base pull
// request gets previews named after its branch in both.
func TestForkPreviews(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: preview
    gitops: {repository: mycompany/gitops, path: previews}
  - name: forks
    gitops: {repository: mycompany/gitops, path: fork-previews}
    allowForks: true
`)
	w.mainCommit(t, map[string]string{"README.md": "frontend"})
	files := map[string]string{".auger/preview.yaml": w.previewEnvConfig("preview"), ".auger/forks.yaml": w.previewEnvConfig("forks")}

	// Control: a base pull request.
	baseSHA, basePR := w.basePullRequest(t, "feature-x", files)
	w.recorded(t, w.logs, baseSHA)
	w.previewComment(t, basePR, "`frontend-feature-x` in **preview**: released")
	w.previewComment(t, basePR, "`frontend-feature-x` in **forks**: released")
	if got := w.gitops(t, "ls-tree", "--name-only", "main", "previews/", "fork-previews/"); got != "fork-previews/frontend-feature-x\npreviews/frontend-feature-x" {
		t.Fatalf("base previews:\n%s", got)
	}

	// The fork's pull request.
	forkSHA, forkPR := w.forkPullRequest(t, "patch-1", files)
	w.recorded(t, w.logs, forkSHA)
	name := fmt.Sprintf("frontend-pr-%d", forkPR)
	comment := w.previewComment(t, forkPR, "`"+name+"` in **forks**: released")
	if !strings.Contains(comment, forkSHA[:7]) {
		t.Errorf("fork preview comment:\n%s", comment)
	}
	run := w.waitForArtifact(t, forkSHA)
	if ids := actionIDs(run); strings.Join(ids, ",") != "deploy:forks" || !strings.Contains(run.Output.Summary, "**Not releasable to preview**: it comes from the fork mallory/frontend") {
		t.Errorf("fork artifact: buttons %v, summary:\n%s", ids, run.Output.Summary)
	}
	want := "fork-previews/frontend-feature-x\nfork-previews/" + name + "\npreviews/frontend-feature-x"
	if got := w.gitops(t, "ls-tree", "--name-only", "main", "previews/", "fork-previews/"); got != want {
		t.Errorf("previews after the fork's pull request:\n%s\nwant:\n%s", got, want)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main", "--", "fork-previews/"+name); !strings.Contains(msg, "Auger-Sha: "+forkSHA) || !strings.Contains(msg, "Auger-Triggered-By: policy") {
		t.Errorf("fork preview commit:\n%s", msg)
	}
	for _, c := range w.repo.Comments(forkPR) {
		if strings.Contains(c.Body, "auger:preview=preview/") {
			t.Errorf("a preview comment for the refusing environment:\n%s", c.Body)
		}
	}

	// Closing the fork's pull request removes its preview, and only it.
	w.closePull(t, forkPR, "mallory/frontend")
	w.previewComment(t, forkPR, "`"+name+"` in **forks**: removed")
	want = "fork-previews/frontend-feature-x\npreviews/frontend-feature-x"
	eventually(t, func() bool {
		return w.gitops(t, "ls-tree", "--name-only", "main", "previews/", "fork-previews/") == want
	})
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Action: delete") || !strings.Contains(msg, "Auger-App: "+name) {
		t.Errorf("fork cleanup commit:\n%s", msg)
	}

	// Control: closing the base pull request removes its previews in both.
	w.closePull(t, basePR, "mycompany/frontend")
	eventually(t, func() bool { return w.gitops(t, "ls-tree", "--name-only", "main", "previews/", "fork-previews/") == "" })
}

// 5. /deploy on a fork's pull request, also one whose head branch is called main.
// Control: /deploy on a base pull request.
func TestForkDeployComment(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "admin")
	w.mainCommit(t, map[string]string{"README.md": "frontend"})
	staging := map[string]string{".auger/frontend-staging.yaml": w.envConfig("frontend", "staging", false)}

	baseSHA, basePR := w.basePullRequest(t, "feature", staging)
	w.waitForArtifact(t, baseSHA)
	w.comment(t, basePR, "jane", "/deploy staging", "")
	if reply := w.reply(t, basePR, 1); !strings.Contains(reply, "**Released** `frontend` `"+baseSHA[:7]+"` to **staging**") {
		t.Fatalf("control deploy:\n%s", reply)
	}
	released := w.gitops(t, "rev-parse", "main")

	for _, headRef := range []string{"patch-1", "main"} {
		forkSHA, forkPR := w.forkPullRequest(t, headRef, staging)
		w.waitForArtifact(t, forkSHA)
		id := w.comment(t, forkPR, "jane", "/deploy staging", "")
		reply := w.reply(t, forkPR, 1)
		if !strings.Contains(reply, "allowForks") || !strings.Contains(reply, "mallory/frontend") || strings.Contains(reply, "**Released**") {
			t.Errorf("/deploy on the fork's #%d (from mallory:%s):\n%s", forkPR, headRef, reply)
		}
		eventually(t, func() bool { r := w.repo.Reactions(id); return len(r) > 0 && r[len(r)-1] == "confused" })
		if got := w.gitops(t, "rev-parse", "main"); got != released {
			t.Errorf("/deploy on the fork's #%d wrote:\n%s", forkPR, w.gitops(t, "log", "-2", "--format=%B", "main"))
		}
	}
}

// 6. A fork's cleanup policy naming a real app: closing its pull request deletes
// nothing it did not release, in an environment that takes forks (left alone) or not
// (refused). Control: the same cleanup policy on a base pull request deletes the app.
func TestForkCleanupNamingABaseApp(t *testing.T) {
	w := newReleaseWorld(t, `
  - name: sandbox
    gitops: {repository: mycompany/gitops, path: sandbox}
    allowForks: true
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
`)
	w.repo.SetPermission("jane", "write")
	w.mainCommit(t, map[string]string{"README.md": "frontend"})
	released := map[string]string{
		".auger/sandbox.yaml": w.envConfig("frontend", "sandbox", false),
		".auger/staging.yaml": w.envConfig("frontend", "staging", false),
	}
	cleanup := map[string]string{}
	for name, ec := range released {
		cleanup[name] = ec + "cleanup: {event: prClosed, app: frontend}\n"
	}

	sha, pr := w.basePullRequest(t, "feature", released)
	w.waitForArtifact(t, sha)
	w.comment(t, pr, "jane", "/deploy sandbox", "")
	w.comment(t, pr, "jane", "/deploy staging", "")
	for n := 1; n <= 2; n++ {
		if reply := w.reply(t, pr, n); !strings.Contains(reply, "**Released**") {
			t.Fatalf("deploy %d:\n%s", n, reply)
		}
	}
	const both = "sandbox/frontend\nstaging/frontend"
	eventually(t, func() bool { return w.gitops(t, "ls-tree", "--name-only", "main", "sandbox/", "staging/") == both })
	before := w.gitops(t, "rev-parse", "main")

	forkSHA, forkPR := w.forkPullRequest(t, "patch-1", cleanup)
	if run := w.waitForArtifact(t, forkSHA); run.Conclusion != "success" {
		t.Fatalf("fork artifact: %s\n%s", run.Conclusion, run.Output.Summary)
	}
	w.closePull(t, forkPR, "mallory/frontend")
	waitForLog(t, w.logs, `"message":"a fork's cleanup names an app it did not release; left alone"`, `"env":"sandbox"`)
	waitForLog(t, w.logs, `"message":"cleanup refused"`, `"env":"staging"`, "allowForks")
	if got := w.gitops(t, "ls-tree", "--name-only", "main", "sandbox/", "staging/"); got != both {
		t.Errorf("after the fork's pull request closed:\n%s", got)
	}
	if got := w.gitops(t, "rev-parse", "main"); got != before {
		t.Errorf("the fork's cleanup wrote:\n%s", w.gitops(t, "log", "-2", "--format=%B", "main"))
	}

	// Control: a base pull request with the same cleanup policy deletes the app in both.
	cleanupSHA, cleanupPR := w.basePullRequest(t, "cleanup", cleanup)
	w.waitForArtifact(t, cleanupSHA)
	w.closePull(t, cleanupPR, "mycompany/frontend")
	eventually(t, func() bool { return w.gitops(t, "ls-tree", "--name-only", "main", "sandbox/", "staging/") == "" })
	if n := strings.Count(w.gitops(t, "log", "--format=%B", "main"), "Auger-Action: delete"); n != 2 {
		t.Errorf("%d delete commits, want 2", n)
	}
}
