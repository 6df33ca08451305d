package commands_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/commands/commandstest"
	"github.com/auger-dev/auger/gitops"
)

var (
	baseRepo = commands.RepoRef{Owner: "acme", Name: "web"}
	sha      = "1111111111111111111111111111111111111111"
	older    = "2222222222222222222222222222222222222222"
)

func basePR(head string) *commands.PullRequest {
	return &commands.PullRequest{Number: 7, HeadSHA: head, HeadRef: "feature", HeadRepo: "acme/web"}
}

func forkPR(head string) *commands.PullRequest {
	return &commands.PullRequest{Number: 9, HeadSHA: head, HeadRef: "main", HeadRepo: "mallory/web"}
}

func TestResolveOrigin(t *testing.T) {
	apiDown := errors.New("GitHub is down")
	tests := map[string]struct {
		commit commands.CommitRef
		gh     *commandstest.Origin
		want   string // base, fork or unknown
		pr     int    // the pull request the answer names
		calls  []string
		why    string
	}{
		"pull request of the base repository": {
			commit: commands.CommitRef{SHA: sha, PR: basePR(sha)}, want: "base", pr: 7,
		},
		"pull request of a fork": {
			commit: commands.CommitRef{SHA: sha, PR: forkPR(sha)}, want: "fork", pr: 9, why: "mallory/web",
		},
		"pull request of a deleted fork": {
			commit: commands.CommitRef{SHA: sha, PR: &commands.PullRequest{Number: 3, HeadSHA: sha, HeadRef: "x"}}, want: "fork", pr: 3, why: "deleted",
		},
		"older commit of a base pull request, on its branch": {
			commit: commands.CommitRef{SHA: older, PR: basePR(sha)},
			gh:     &commandstest.Origin{Contains: map[string]bool{"feature@" + older: true}},
			want:   "base", calls: []string{"contains feature"},
		},
		"older commit of a fork pull request": {
			commit: commands.CommitRef{SHA: older, PR: forkPR(sha)},
			gh:     &commandstest.Origin{Heads: []commands.PullRequest{*forkPR(sha)}},
			want:   "unknown", calls: []string{"pulls"},
		},
		"no pull request, branch found": {
			commit: commands.CommitRef{SHA: sha, Refs: []string{"main"}},
			gh:     &commandstest.Origin{Contains: map[string]bool{"main@" + sha: true}},
			want:   "base", calls: []string{"contains main"}, why: "main of acme/web contains",
		},
		"no pull request, tag found after a branch that does not contain it": {
			commit: commands.CommitRef{SHA: sha, Refs: []string{"main", "v1.2.0", "main"}},
			gh:     &commandstest.Origin{Contains: map[string]bool{"v1.2.0@" + sha: true}},
			want:   "base", calls: []string{"contains main", "contains v1.2.0"},
		},
		"no pull request, no branch: a fork's head found by its pull request": {
			commit: commands.CommitRef{SHA: sha},
			gh:     &commandstest.Origin{Heads: []commands.PullRequest{*forkPR(sha)}},
			want:   "fork", pr: 9, calls: []string{"pulls"},
		},
		"a branch name the fork shares does not make it the base's": {
			commit: commands.CommitRef{SHA: sha, Refs: []string{"main"}},
			gh:     &commandstest.Origin{Heads: []commands.PullRequest{*forkPR(sha)}},
			want:   "fork", pr: 9, calls: []string{"contains main", "pulls"},
		},
		"no pull request, no branch: the base's pull request found by its head": {
			commit: commands.CommitRef{SHA: sha},
			gh:     &commandstest.Origin{Heads: []commands.PullRequest{*forkPR(sha), *basePR(sha)}},
			want:   "base", pr: 7, calls: []string{"pulls"},
		},
		"nothing proves anything": {
			commit: commands.CommitRef{SHA: sha, Refs: []string{"main"}},
			want:   "unknown", calls: []string{"contains main", "pulls"}, why: "no branch or tag",
		},
		"GitHub errors leave the origin unknown": {
			commit: commands.CommitRef{SHA: sha, Refs: []string{"main"}},
			gh:     &commandstest.Origin{ContainsError: apiDown, HeadsError: apiDown},
			want:   "unknown", calls: []string{"contains main", "pulls"}, why: "GitHub is down",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.commit.Repo = baseRepo
			if tc.gh == nil {
				tc.gh = &commandstest.Origin{}
			}
			got := commands.ResolveOrigin(context.Background(), tc.gh, tc.commit)
			kind := "unknown"
			switch {
			case got.Base && got.Fork:
				t.Fatalf("both base and fork: %+v", got)
			case got.Base:
				kind = "base"
			case got.Fork:
				kind = "fork"
			}
			if kind != tc.want {
				t.Errorf("origin = %s (%s), want %s", kind, got.Why, tc.want)
			}
			if n := prNumberOf(got); n != tc.pr {
				t.Errorf("pull request = %d, want %d", n, tc.pr)
			}
			if calls := tc.gh.Calls(); !slices.Equal(calls, tc.calls) {
				t.Errorf("calls = %q, want %q", calls, tc.calls)
			}
			if !strings.Contains(got.Why, tc.why) {
				t.Errorf("why = %q, want it to mention %q", got.Why, tc.why)
			}
		})
	}
}

func prNumberOf(o commands.Origin) int {
	if o.PR == nil {
		return 0
	}
	return o.PR.Number
}

// TestRulesJudgeTheCommitNotTheEntryPoint asks the Rules what each entry point asks:
// a comment (an actor and a pull request), a button (an actor, maybe no pull request),
// a policy (no actor), a rollback and a cleanup (a commit only), with a fork's commit
// and, as control, the base repository's.
func TestRulesJudgeTheCommitNotTheEntryPoint(t *testing.T) {
	staging := &commands.EnvironmentRules{Name: "staging"}
	previews := &commands.EnvironmentRules{Name: "previews", AllowForks: true}
	gh := func() *commandstest.Rules {
		return &commandstest.Rules{
			Roles: map[string]string{"jane": "admin"},
			Origin: commandstest.Origin{
				Heads:    []commands.PullRequest{*forkPR(sha)},
				Contains: map[string]bool{"main@" + older: true},
			},
		}
	}
	entries := map[string]commands.Ask{
		"comment":  {Action: gitops.ActionRelease, Actor: "jane", PR: forkPR(sha), Commit: commands.CommitRef{SHA: sha, PR: forkPR(sha)}},
		"button":   {Action: gitops.ActionRelease, Actor: "jane", Commit: commands.CommitRef{SHA: sha}},
		"policy":   {Action: gitops.ActionRelease, Commit: commands.CommitRef{SHA: sha, Refs: []string{"main"}}},
		"rollback": {Action: gitops.ActionRollback, Actor: "jane", Commit: commands.CommitRef{SHA: sha}},
		"cleanup":  {Action: gitops.ActionDelete, Commit: commands.CommitRef{SHA: sha, PR: forkPR(sha)}},
	}
	for name, ask := range entries {
		t.Run(name, func(t *testing.T) {
			ask.Repo, ask.Commit.Repo = baseRepo, baseRepo

			ask.Env, ask.GitHub = staging, gh()
			err := commands.Rules{}.Authorize(context.Background(), ask)
			var refusal *commands.Refusal
			if !errors.As(err, &refusal) || refusal.Rule != "allowForks" || refusal.PullRequest != 9 {
				t.Errorf("fork into staging: %v (%+v), want refused by allowForks, answered on #9", err, refusal)
			}

			ask.Env, ask.GitHub, ask.Previews = previews, gh(), true
			if err := (commands.Rules{}).Authorize(context.Background(), ask); err != nil {
				t.Errorf("a fork's preview into an environment that allows forks: %v", err)
			}
			ask.GitHub, ask.Previews = gh(), false
			err = commands.Rules{}.Authorize(context.Background(), ask)
			if ask.Action == gitops.ActionRelease && (!errors.As(err, &refusal) || !strings.Contains(refusal.Reason, "previews only")) {
				t.Errorf("a fork's release of a base app where forks are allowed: %v", err)
			}

			control := ask
			control.Env, control.GitHub, control.PR = staging, gh(), nil
			control.Commit = commands.CommitRef{Repo: baseRepo, SHA: older, Refs: []string{"main"}}
			if err := (commands.Rules{}).Authorize(context.Background(), control); err != nil {
				t.Errorf("control, a commit of main: %v", err)
			}
		})
	}

	t.Run("no GitHub to ask fails closed", func(t *testing.T) {
		ask := commands.Ask{Action: gitops.ActionRelease, Env: staging, Repo: baseRepo, Commit: commands.CommitRef{Repo: baseRepo, SHA: sha, Refs: []string{"main"}}}
		var refusal *commands.Refusal
		if err := (commands.Rules{}).Authorize(context.Background(), ask); !errors.As(err, &refusal) || refusal.Rule != "allowForks" {
			t.Errorf("without GitHub: %v", err)
		}
	})
	t.Run("the actor is judged before the commit", func(t *testing.T) {
		fake := gh()
		ask := commands.Ask{Action: gitops.ActionRelease, Env: staging, Actor: "mallory", Repo: baseRepo, GitHub: fake, Commit: commands.CommitRef{Repo: baseRepo, SHA: sha}}
		var refusal *commands.Refusal
		if err := (commands.Rules{}).Authorize(context.Background(), ask); !errors.As(err, &refusal) || refusal.Rule != "permission" {
			t.Errorf("reader: %v", err)
		}
		if calls := fake.Calls(); !slices.Equal(calls, []string{"permission mallory"}) {
			t.Errorf("calls = %q: a refused actor costs one request", calls)
		}
	})
}
