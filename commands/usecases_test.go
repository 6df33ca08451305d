package commands_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/commands/commandstest"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/notify"
)

// A use-case world: the commands with the commandstest fakes for GitHub, a local gitops
// repository and a renderer that makes one ConfigMap per app. No HTTP anywhere.
type useCases struct {
	t        *testing.T
	gh       *commandstest.GitHub
	prs      *commands.PullRequests
	repo     commands.RepoRef
	gitopsAt string
	told     *notifications
}

type notifications struct {
	mu     sync.Mutex
	events []notify.Event
}

func (n *notifications) Notify(e notify.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, e)
}

func (n *notifications) kinds() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, e := range n.events {
		out = append(out, string(e.Kind))
	}
	return out
}

const headSHA = "deae5dbaf237766240181fa397e923d3c5253112"

// newUseCases has one environment per rules given (a gitops repository each, under
// one folder), jane as admin, and pull request #5 from branch feature with head headSHA.
func newUseCases(t *testing.T, envs ...commands.EnvironmentRules) *useCases {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gitops")
	cache := t.TempDir()
	for i := range envs {
		envs[i].Gitops = func(context.Context) (*gitops.Repo, error) {
			return gitops.Open(gitops.Remote{URL: dir}, gitops.Options{CacheDir: cache})
		}
		envs[i].GitopsCommitURL = func(sha string) string { return "https://github.test/acme/gitops/commit/" + sha }
	}
	recorder := &commands.Recorder{AppID: commandstest.OwnAppID, Environments: envs}
	told := &notifications{}
	u := &useCases{t: t, repo: commands.RepoRef{Owner: "acme", Name: "web"}, gitopsAt: dir, told: told,
		gh: &commandstest.GitHub{
			Conversation: commandstest.Conversation{Pulls: map[int]commands.PullRequest{
				5: {Number: 5, HeadSHA: headSHA, HeadRef: "feature", BaseRef: "main", HeadRepo: "acme/web", Author: "tom", HTMLURL: "https://github.test/acme/web/pull/5"},
			}},
			Rules: commandstest.Rules{Roles: map[string]string{"jane": "admin", "rita": "read"}},
		},
		prs: &commands.PullRequests{
			Releaser:     &commands.Releaser{Renderer: &fakeRenderer{}, Authorizer: commands.Rules{CI: recorder}},
			Recorder:     recorder,
			Environments: envs,
			WebURL:       "https://github.test/",
			Notifier:     told,
		},
	}
	return u
}

// record puts CI's green check and the env configs on headSHA and records its artifact.
func (u *useCases) record(configs map[string]string, req commands.RecordRequest) commands.RecordResult {
	u.t.Helper()
	u.gh.Checks.Runs = append(u.gh.Checks.Runs, commands.CheckRun{ID: 1, Name: "build", HeadSHA: headSHA, Status: "completed", Conclusion: "success", AppID: 99})
	u.gh.Contents.Files = map[string]map[string]string{headSHA: {}}
	for name, body := range configs {
		u.gh.Contents.Files[headSHA][".auger/"+name] = body
	}
	req.Repo, req.SHA = u.repo, headSHA
	res, err := u.prs.Recorder.Record(context.Background(), u.gh, req)
	if err != nil || res.Outcome != commands.OutcomeRecorded {
		u.t.Fatalf("record: %+v, %v", res, err)
	}
	return res
}

// comment runs a command given on pull request #5 as login.
func (u *useCases) comment(login, body string, id int64) error {
	u.t.Helper()
	cmd, err := commands.Parse(body)
	if err != nil {
		u.t.Fatalf("parse %q: %v", body, err)
	}
	return u.prs.Run(context.Background(), u.gh, commands.Trigger{Repo: u.repo, PR: 5, Actor: login, ID: "comment:" + strconv.FormatInt(id, 10), CommentID: id}, cmd, nil)
}

func (u *useCases) lastReply() string {
	replies := u.gh.Conversation.Replies(5)
	if len(replies) == 0 {
		return ""
	}
	return replies[len(replies)-1]
}

const stagingConfig = "app: web\nenv: staging\nnamespace: staging\nchart: {name: charts/web}\n"

// Defect 6: without an agent, the deploy check run ends when the gitops commit lands;
// with a silent agent, it ends neutral after the environment's timeout.
func TestDeployCheckRunEndsWithoutAnAgent(t *testing.T) {
	for name, tc := range map[string]struct {
		rules       commands.EnvironmentRules
		conclusion  string
		deployments int
	}{
		// Without an agent, no Deployment: the check run says it all.
		"no agent": {commands.EnvironmentRules{Name: "staging"}, "success", 0},
		// With an agent, the agent's report sets the Deployment's status: none before.
		"silent agent": {commands.EnvironmentRules{Name: "staging", LiveStatus: true, AgentTimeout: 50 * time.Millisecond}, "neutral", 1},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUseCases(t, tc.rules)
			u.record(map[string]string{"staging.yaml": stagingConfig}, commands.RecordRequest{HeadBranch: "feature", DefaultBranch: "main"})
			if err := u.comment("jane", "/deploy staging", 1); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(u.lastReply(), "**Released**") {
				t.Fatalf("reply: %s", u.lastReply())
			}
			deadline := time.Now().Add(5 * time.Second)
			var runs []commands.CheckRun
			for time.Now().Before(deadline) {
				if runs = u.gh.Checks.Named(commands.CheckDeployPrefix + "staging"); len(runs) == 1 && runs[0].Status == "completed" {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != tc.conclusion {
				t.Fatalf("deploy check runs: %+v", runs)
			}
			if deps := u.gh.DeploymentLog.List; len(deps) != tc.deployments || len(u.gh.DeploymentLog.Statuses) != 0 {
				t.Errorf("deployments: %+v %+v", deps, u.gh.DeploymentLog.Statuses)
			}
		})
	}
}

// Defect 1: a policy release cut short by a GitHub error is told on the artifact check
// run, resumes on the next event for the commit, and is then marked done.
func TestPolicyReleaseResumesAndSaysWhatFailed(t *testing.T) {
	// An agent reports from staging, so the release gets a Deployment too.
	u := newUseCases(t, commands.EnvironmentRules{Name: "staging", LiveStatus: true})
	res := u.record(map[string]string{"staging.yaml": stagingConfig + "deploy: {branch: main, event: push}\n"}, commands.RecordRequest{HeadBranch: "main", DefaultBranch: "main"})
	u.gh.Rules.Contains = map[string]bool{"main@" + headSHA: true}
	ctx := context.Background()

	u.gh.Checks.FailNext("CreateCheckRun", errors.New("GitHub answered 502"))
	if err := u.prs.ReleaseByPolicy(ctx, u.gh, u.repo, res.CheckRun); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("policy release with GitHub failing: %v", err)
	}
	art := u.gh.Checks.Named(commands.CheckArtifact)[0]
	if !strings.Contains(art.Summary, "could not be released to **staging**") || !strings.Contains(art.Summary, "502") || art.Text != res.CheckRun.Text {
		t.Fatalf("artifact check run after the failure:\n%s", art.Summary)
	}
	if !u.prs.PoliciesPending(art) {
		t.Fatal("the failed policy is not pending")
	}

	// The next event for the commit finds it pending and resumes it: the write is found
	// done (its trigger is in the gitops log), the check run and Deployment are made.
	if err := u.prs.ReleaseByPolicy(ctx, u.gh, u.repo, art); err != nil {
		t.Fatal(err)
	}
	if n := len(u.gh.Checks.Named(commands.CheckDeployPrefix + "staging")); n != 1 {
		t.Errorf("deploy check runs = %d", n)
	}
	if n := len(u.gh.DeploymentLog.List); n != 1 {
		t.Errorf("deployments = %d", n)
	}
	art = u.gh.Checks.Named(commands.CheckArtifact)[0]
	if strings.Contains(art.Summary, "could not be released") || !strings.Contains(art.Summary, "✅ `web` released to **staging**") || u.prs.PoliciesPending(art) {
		t.Errorf("artifact check run after the resume:\n%s", art.Summary)
	}
	if commitCount(t, u.gitopsAt) != "1" {
		t.Errorf("gitops commits = %s, want 1", commitCount(t, u.gitopsAt))
	}
	calls := u.gh.Calls()
	if err := u.prs.ReleaseByPolicy(ctx, u.gh, u.repo, art); err != nil || u.gh.Calls() != calls {
		t.Errorf("a done policy ran again: %v, %d calls", err, u.gh.Calls()-calls)
	}
}

// Defect 5: an app of the pull request's artifact that was never released is an app,
// not the first word of a reason; /unlock of an app under an environment lock says who
// holds that lock.
func TestLocksKnowTheArtifactsApps(t *testing.T) {
	u := newUseCases(t, commands.EnvironmentRules{Name: "staging"})
	u.record(map[string]string{"staging.yaml": stagingConfig}, commands.RecordRequest{HeadBranch: "feature", DefaultBranch: "main"})
	if err := u.comment("jane", "/lock staging web release freeze", 1); err != nil {
		t.Fatal(err)
	}
	if r := u.lastReply(); !strings.Contains(r, "**Locked** `web` in **staging**") || !strings.Contains(r, "release freeze") {
		t.Errorf("lock reply: %s", r)
	}
	if err := u.comment("jane", "/unlock staging web", 2); err != nil {
		t.Fatal(err)
	}
	if r := u.lastReply(); !strings.Contains(r, "**Unlocked** `web`") {
		t.Errorf("unlock reply: %s", r)
	}

	if err := u.comment("jane", "/lock staging audit", 3); err != nil {
		t.Fatal(err)
	}
	if err := u.comment("jane", "/unlock staging web", 4); err != nil {
		t.Fatal(err)
	}
	r := u.lastReply()
	if !strings.Contains(r, "web has no lock of its own, but staging is locked by jane") || !strings.Contains(r, "audit") || !strings.Contains(r, "/unlock staging") {
		t.Errorf("unlock of an app under an environment lock: %s", r)
	}
	if got := u.gh.Conversation.Reactions[4]; len(got) != 2 || got[1] != "confused" {
		t.Errorf("reactions = %v, want eyes then confused", got)
	}
}

// proposedDeploy runs /deploy staging on #5 where staging takes releases as gitops pull
// requests that a person merges.
func proposedDeploy(t *testing.T) (*useCases, *fakeGitopsPRs) {
	t.Helper()
	gitopsPRs := &fakeGitopsPRs{}
	u := newUseCases(t, commands.EnvironmentRules{Name: "staging", PullRequests: true, GitopsRepo: commands.RepoRef{Owner: "acme", Name: "gitops"},
		GitopsGitHub: func(context.Context) (commands.GitopsPullRequests, error) { return gitopsPRs, nil }})
	u.record(map[string]string{"staging.yaml": stagingConfig}, commands.RecordRequest{HeadBranch: "feature", DefaultBranch: "main"})
	if err := u.comment("jane", "/deploy staging", 1); err != nil {
		t.Fatal(err)
	}
	return u, gitopsPRs
}

// Defect 11: a release proposed as a gitops pull request that waits for a person is
// told as proposed: no "Released", no Deployment, no release.started.
func TestProposalIsNotToldAsARelease(t *testing.T) {
	u, gitopsPRs := proposedDeploy(t)
	if r := u.lastReply(); !strings.Contains(r, "**Proposed**") || strings.Contains(r, "**Released**") {
		t.Errorf("reply: %s", r)
	}
	runs := u.gh.Checks.Named(commands.CheckDeployPrefix + "staging")
	if len(runs) != 1 || runs[0].Status != "queued" || !strings.Contains(runs[0].Title, "Proposed") || strings.Contains(runs[0].Title, "Released") {
		t.Errorf("deploy check run: %+v", runs)
	}
	if len(u.gh.DeploymentLog.List) != 0 {
		t.Errorf("deployments of a proposal: %+v", u.gh.DeploymentLog.List)
	}
	for _, k := range u.told.kinds() {
		if k == string(notify.ReleaseStarted) {
			t.Errorf("a proposal was told as started: %v", u.told.kinds())
		}
	}

	// The gitops pull request carries the proposal; its merge makes it the release.
	proposal, ok := commands.ParseProposal(gitopsPRs.bodies[0])
	if !ok || proposal.SHA != headSHA || proposal.PR != 5 || proposal.Env != "staging" {
		t.Fatalf("proposal in the gitops pull request: %+v, %v", proposal, ok)
	}
	merged := commands.ProposalClosed{Proposal: proposal, Number: 101, URL: "https://github.test/acme/gitops/pull/101", MergeCommit: "abcdef1234567", By: "ops"}
	for range 2 { // the second is a redelivery
		if err := u.prs.CloseProposal(context.Background(), u.gh, merged); err != nil {
			t.Fatal(err)
		}
	}
	runs = u.gh.Checks.Named(commands.CheckDeployPrefix + "staging")
	if runs[0].Status != "completed" || runs[0].Conclusion != "success" || !strings.Contains(runs[0].Summary, "merged by ops") {
		t.Errorf("deploy check run after the merge: %+v", runs[0])
	}
	if len(u.gh.DeploymentLog.List) != 0 {
		t.Errorf("deployments after the merge into an environment without an agent: %+v", u.gh.DeploymentLog.List)
	}
	if r := u.lastReply(); !strings.Contains(r, "**Released**") || !strings.Contains(r, "merged by ops") || len(u.gh.Conversation.Replies(5)) != 2 {
		t.Errorf("replies after the merge: %q", u.gh.Conversation.Replies(5))
	}
	if k := u.told.kinds(); len(k) != 1 || k[0] != string(notify.ReleaseStarted) {
		t.Errorf("notifications after the merge: %v", k)
	}
}

func TestClosedProposalIsCancelled(t *testing.T) {
	u, gitopsPRs := proposedDeploy(t)
	proposal, _ := commands.ParseProposal(gitopsPRs.bodies[0])
	if err := u.prs.CloseProposal(context.Background(), u.gh, commands.ProposalClosed{Proposal: proposal, Number: 101, URL: "u", By: "ops"}); err != nil {
		t.Fatal(err)
	}
	runs := u.gh.Checks.Named(commands.CheckDeployPrefix + "staging")
	if runs[0].Status != "completed" || runs[0].Conclusion != "cancelled" || len(u.gh.DeploymentLog.List) != 0 {
		t.Errorf("cancelled proposal: %+v, deployments %+v", runs[0], u.gh.DeploymentLog.List)
	}
}

// Defect 10: a preview's release says where it is reachable, its URL filled: without an
// agent on the deploy check run's Details link (there is no Deployment); with an agent on
// the Deployment, whose statuses the agent's reports set (rollouts.go).
func TestPreviewURLIsFilled(t *testing.T) {
	u := newUseCases(t, commands.EnvironmentRules{Name: "preview", URL: "https://{{ .APP }}.preview.example.test"})
	u.record(map[string]string{"preview.yaml": "app: web\nenv: preview\nnamespace: preview\npreview: true\nchart: {name: charts/web}\n"},
		commands.RecordRequest{HeadBranch: "feature", DefaultBranch: "main", PullRequest: &commands.PullRequestRef{Number: 5, HeadRef: "feature", BaseRef: "main", URL: "https://github.test/acme/web/pull/5"}})
	if err := u.comment("jane", "/deploy preview", 1); err != nil {
		t.Fatal(err)
	}
	if deps := u.gh.DeploymentLog.List; len(deps) != 0 {
		t.Errorf("deployments without an agent: %+v", deps)
	}
	runs := u.gh.Checks.Named(commands.CheckDeployPrefix + "preview")
	if len(runs) != 1 || runs[0].DetailsURL != "https://web-feature.preview.example.test" {
		t.Errorf("deploy check runs: %+v (reply %s)", runs, u.lastReply())
	}
}

type fakeGitopsPRs struct {
	n      int
	bodies []string
}

func (f *fakeGitopsPRs) CreatePullRequest(_ context.Context, _ commands.RepoRef, pr commands.NewPullRequest) (commands.PullRequest, error) {
	f.n++
	f.bodies = append(f.bodies, pr.Body)
	return commands.PullRequest{Number: 100 + f.n, Title: pr.Title, HTMLURL: "https://github.test/acme/gitops/pull/1", State: "open"}, nil
}

func (f *fakeGitopsPRs) MergePullRequest(context.Context, commands.RepoRef, int, string, string) (string, error) {
	return "", errors.New("not merged in this test")
}
