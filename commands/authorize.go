package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

// roleRank orders repository roles; a release needs at least the environment's.
var roleRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// Ask is one change asked of an environment: what the Authorizer judges. Every entry
// point (a comment, a button, a deploy policy, a cleanup, the CLI) builds one, and the
// Releaser fills in what it is about to write, so the rules see the commit that would
// run, whoever asked.
type Ask struct {
	Action gitops.Action
	Env    *EnvironmentRules
	Apps   []string
	// Actor is the login of the person who asked; empty when Auger acts on a deploy or
	// cleanup policy, which no person asked for.
	Actor string
	// Holder is let through the actor rules: whoever holds the lock, for /unlock.
	Holder string
	// Repo is the repository asked on: the actor's role and the pull request are there.
	Repo RepoRef
	// Commit is the commit the change would run in the environment: the artifact's for a
	// release, the restored release's for a rollback, the one whose env configs named
	// the app for a cleanup. Empty for changes that run no code (locks).
	Commit CommitRef
	// Previews is true when every app the change writes is a preview (named after its
	// branch or pull request): the only apps a fork's commit may write, where forks are
	// allowed at all.
	Previews bool
	// PR is the pull request asked on, for requireApproval.
	PR *PullRequest
	// Runs are the commit's check runs, for requireChecks.
	Runs []CheckRun
	// GitHub is where the rules look facts up: the installation the request came
	// through. Without it, every rule that needs a fact refuses.
	GitHub RulesGitHub
}

// commit is the commit asked about, in the repository asked on unless it names another.
func (ask Ask) commit() CommitRef {
	c := ask.Commit
	if c.Repo == (RepoRef{}) {
		c.Repo = ask.Repo
	}
	return c
}

// originGitHub is where the commit's origin is asked, nil when nowhere.
func (ask Ask) originGitHub() OriginGitHub {
	if ask.GitHub == nil {
		return nil
	}
	return ask.GitHub
}

// RulesGitHub is what the environment rules read from GitHub.
type RulesGitHub interface {
	OriginGitHub
	// Permission is login's role on repo: admin, maintain, write, triage, read or none.
	Permission(ctx context.Context, repo RepoRef, login string) (string, error)
	// TeamMember tells whether login is an active member of org/team.
	TeamMember(ctx context.Context, org, team, login string) (bool, error)
	Reviews(ctx context.Context, repo RepoRef, number int) ([]Review, error)
}

// Rules is the GitHub App's Authorizer: every rule of an environment, applied the same
// way to every entry point, before anything is written. A person must have the
// environment's repository role (and be one of its users or teams, when it names
// them); the commit must come from the base repository unless the environment allows
// forks; a release a person asks for needs an approved pull request and green CI when
// the environment says so. Locks are checked by the gitops write itself, inside its
// compare-and-swap.
type Rules struct {
	// CI judges a commit's check runs; nil takes every check run as CI.
	CI *Recorder
}

// Authorize applies the environment's rules to ask.
func (r Rules) Authorize(ctx context.Context, ask Ask) error {
	rules := ask.Env
	if rules == nil {
		return errors.New("authorize: no environment")
	}
	if ask.Actor != "" {
		if err := r.authorizeActor(ctx, ask); err != nil {
			return err
		}
	}
	switch {
	case ask.Commit.SHA == "":
	case !rules.AllowForks:
		if err := r.authorizeOrigin(ctx, ask); err != nil {
			return err
		}
	case (ask.Action == gitops.ActionRelease || ask.Action == gitops.ActionRollback) && !ask.Previews:
		// Where forks are allowed, a fork's commit still may not replace an app of the
		// base repository: only previews, which are named after its pull request.
		if origin := ResolveOrigin(ctx, ask.originGitHub(), ask.commit()); !origin.Base {
			refusal := &Refusal{Rule: "allowForks", Reason: fmt.Sprintf("%s takes commits from forks for previews only, and %s is no preview; %s",
				rules.Name, strings.Join(ask.Apps, ", "), origin.Why), Remedy: "Release a preview env config, or push the branch to " + ask.commit().Repo.FullName()}
			if origin.PR != nil {
				refusal.PullRequest = origin.PR.Number
			}
			return tell(refusal)
		}
	}
	if ask.Actor == "" || ask.Action != gitops.ActionRelease {
		return nil
	}
	if rules.RequireApproval {
		pr := ask.PR
		if pr == nil {
			return tell(&Refusal{Rule: "requireApproval", Reason: rules.Name + " needs an approved pull request", Remedy: "Deploy from the pull request of this commit"})
		}
		if ask.GitHub == nil {
			return tell(&Refusal{Rule: "requireApproval", Reason: "the approvals of #" + strconv.Itoa(pr.Number) + " cannot be read here"})
		}
		reviews, err := ask.GitHub.Reviews(ctx, ask.Repo, pr.Number)
		if err != nil {
			return err
		}
		if ok, why := approved(reviews, pr.Author); !ok {
			return tell(&Refusal{Rule: "requireApproval", Reason: fmt.Sprintf("%s needs an approved pull request, and #%d %s", rules.Name, pr.Number, why),
				Remedy: "Ask a reviewer to approve it, then comment again"})
		}
	}
	if rules.RequireChecks {
		ci := r.CI
		if ci == nil {
			ci = &Recorder{}
		}
		if _, outcome, reason := ci.ciState(ask.Runs); outcome != "" {
			return tell(&Refusal{Rule: "requireChecks", Reason: fmt.Sprintf("%s needs every CI check green, and %s", rules.Name, reason),
				Remedy: "Wait for the checks to pass (or fix them), then comment again"})
		}
	}
	return nil
}

// authorizeOrigin lets a commit into an environment that refuses forks only when GitHub
// proves it belongs to the base repository.
func (r Rules) authorizeOrigin(ctx context.Context, ask Ask) error {
	commit := ask.commit()
	origin := ResolveOrigin(ctx, ask.originGitHub(), commit)
	if origin.Base {
		return nil
	}
	refusal := &Refusal{Rule: "allowForks", Remedy: "Push the branch to " + commit.Repo.FullName() + " and release it from there"}
	if origin.PR != nil {
		refusal.PullRequest = origin.PR.Number
	}
	if origin.Fork {
		refusal.Reason = fmt.Sprintf("%s, and %s does not take releases from forks", origin.Why, ask.Env.Name)
	} else {
		refusal.Reason = fmt.Sprintf("%s takes only commits of %s, and where %s comes from cannot be established: %s",
			ask.Env.Name, commit.Repo.FullName(), text.Short(commit.SHA), origin.Why)
	}
	return tell(refusal)
}

// approved tells whether the latest review of every reviewer leaves the pull request
// approved: at least one approval and no outstanding change request.
func approved(reviews []Review, author string) (bool, string) {
	latest := map[string]string{}
	var order []string
	for _, r := range reviews {
		if strings.EqualFold(r.User, author) || r.State == "COMMENTED" || r.State == "PENDING" {
			continue
		}
		if _, seen := latest[r.User]; !seen {
			order = append(order, r.User)
		}
		latest[r.User] = r.State
	}
	approvals := 0
	for _, user := range order {
		switch latest[user] {
		case "CHANGES_REQUESTED":
			return false, "has changes requested by " + user
		case "APPROVED":
			approvals++
		}
	}
	if approvals == 0 {
		return false, "has no approving review"
	}
	return true, ""
}

// authorizeActor checks who asks: their repository role and, when the environment
// names them, its users and teams. The lock's holder is let through (for /unlock).
func (r Rules) authorizeActor(ctx context.Context, ask Ask) error {
	rules, actor, repo := ask.Env, ask.Actor, ask.Repo
	if ask.Holder != "" && strings.EqualFold(ask.Holder, actor) {
		return nil
	}
	if ask.GitHub == nil {
		return tell(&Refusal{Rule: "permission", Reason: "the role of @" + actor + " cannot be read here"})
	}
	role, err := ask.GitHub.Permission(ctx, repo, actor)
	if err != nil {
		return err
	}
	need := rules.Permission
	if need == "" {
		need = "write"
	}
	if roleRank[role] < roleRank[need] {
		return tell(&Refusal{Rule: "permission", Reason: fmt.Sprintf("@%s has %s access to %s, and %s needs %s or more", actor, role, repo.FullName(), rules.Name, need),
			Remedy: "Ask someone with " + need + " access, or a repository admin to raise yours"})
	}
	if len(rules.Users) == 0 && len(rules.Teams) == 0 {
		return nil
	}
	for _, u := range rules.Users {
		if strings.EqualFold(u, actor) {
			return nil
		}
	}
	for _, team := range rules.Teams {
		org, slug, _ := strings.Cut(team, "/")
		member, err := ask.GitHub.TeamMember(ctx, org, slug, actor)
		if err != nil {
			return err
		}
		if member {
			return nil
		}
	}
	var who []string
	for _, u := range rules.Users {
		who = append(who, "@"+u)
	}
	who = append(who, rules.Teams...)
	return tell(&Refusal{Rule: "teams and users", Reason: fmt.Sprintf("releases to %s are limited to %s", rules.Name, strings.Join(who, ", ")),
		Remedy: "Ask one of them"})
}

// GitHub refuses comments longer than this many characters.
const maxComment = 65536

// cutComment keeps a reply under GitHub's limit, cutting at a line and closing an open
// <details>, so the reply stays readable.
func cutComment(body string) string {
	const note = "\n\n… cut here: the reply was longer than GitHub allows. The gitops commit has everything.\n"
	if utf8.RuneCountInString(body) <= maxComment {
		return body
	}
	runes := []rune(body)
	cut := string(runes[:maxComment-len(note)-len("\n</details>\n")-1])
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	if strings.Count(cut, "<details>") > strings.Count(cut, "</details>") {
		cut += "\n</details>\n"
	}
	return cut + note
}
