package commands

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// roleRank orders repository roles; a release needs at least the environment's.
var roleRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// authorize applies every rule of the environment to a deploy, before anything is
// written: who asks, the pull request's approval, its checks and where it comes from.
func (p *PullRequests) authorize(ctx context.Context, gh PullRequestsGitHub, t Trigger, rules *EnvironmentRules, pr *PullRequest, runs []CheckRun) error {
	if err := p.authorizeActor(ctx, gh, t, rules, ""); err != nil {
		return err
	}
	if pr != nil && pr.HeadRepo != "" && !strings.EqualFold(pr.HeadRepo, t.Repo.FullName()) && !rules.AllowForks {
		return tell(&Refusal{Rule: "allowForks", Reason: fmt.Sprintf("#%d comes from the fork %s, and %s does not take releases from forks", pr.Number, pr.HeadRepo, rules.Name),
			Remedy: "Push the branch to " + t.Repo.FullName() + " and open the pull request from there"})
	}
	if rules.RequireApproval {
		if pr == nil {
			return tell(&Refusal{Rule: "requireApproval", Reason: rules.Name + " needs an approved pull request", Remedy: "Deploy from the pull request of this commit"})
		}
		reviews, err := gh.Reviews(ctx, t.Repo, pr.Number)
		if err != nil {
			return err
		}
		if ok, why := approved(reviews, pr.Author); !ok {
			return tell(&Refusal{Rule: "requireApproval", Reason: fmt.Sprintf("%s needs an approved pull request, and #%d %s", rules.Name, pr.Number, why),
				Remedy: "Ask a reviewer to approve it, then comment again"})
		}
	}
	if rules.RequireChecks {
		if _, outcome, reason := p.Recorder.ciState(runs); outcome != "" {
			return tell(&Refusal{Rule: "requireChecks", Reason: fmt.Sprintf("%s needs every CI check green, and %s", rules.Name, reason),
				Remedy: "Wait for the checks to pass (or fix them), then comment again"})
		}
	}
	return nil
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
// names them, its users and teams. alsoAllowed is a login let through regardless (the
// one who locked, for /unlock).
func (p *PullRequests) authorizeActor(ctx context.Context, gh PullRequestsGitHub, t Trigger, rules *EnvironmentRules, alsoAllowed string) error {
	if alsoAllowed != "" && strings.EqualFold(alsoAllowed, t.Actor) {
		return nil
	}
	role, err := gh.Permission(ctx, t.Repo, t.Actor)
	if err != nil {
		return err
	}
	need := rules.Permission
	if need == "" {
		need = "write"
	}
	if roleRank[role] < roleRank[need] {
		return tell(&Refusal{Rule: "permission", Reason: fmt.Sprintf("@%s has %s access to %s, and %s needs %s or more", t.Actor, role, t.Repo.FullName(), rules.Name, need),
			Remedy: "Ask someone with " + need + " access, or a repository admin to raise yours"})
	}
	if len(rules.Users) == 0 && len(rules.Teams) == 0 {
		return nil
	}
	for _, u := range rules.Users {
		if strings.EqualFold(u, t.Actor) {
			return nil
		}
	}
	for _, team := range rules.Teams {
		org, slug, _ := strings.Cut(team, "/")
		member, err := gh.TeamMember(ctx, org, slug, t.Actor)
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
