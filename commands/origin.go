package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/auger-dev/auger/internal/text"
)

// Where a commit comes from decides whether an environment that refuses forks may run it.
// The answer is built from GitHub's facts about the commit, never from the way a request
// came in: check events for a fork's head carry no pull request and no branch, so "no
// pull request known" says nothing about a fork. When the facts prove neither, the
// commit is of unknown origin, and the forks rule refuses it.

// OriginGitHub is what establishing a commit's origin needs from GitHub.
type OriginGitHub interface {
	// ContainsCommit tells whether ref, a branch or tag of repo, contains sha. A ref or
	// commit GitHub does not know is false, not an error.
	ContainsCommit(ctx context.Context, repo RepoRef, ref, sha string) (bool, error)
	// PullRequestsWithHead lists the open pull requests of repo whose head is sha, from
	// forks too, newest first.
	PullRequestsWithHead(ctx context.Context, repo RepoRef, sha string) ([]PullRequest, error)
}

// CommitRef is a commit to judge, with what the request already knows about it.
type CommitRef struct {
	Repo RepoRef
	SHA  string
	// PR is a pull request known from the request (already read from GitHub).
	PR *PullRequest
	// Refs are branches or tags of Repo that may contain SHA: the event's head branch,
	// the artifact's branch or tag. They are only candidates; GitHub is asked.
	Refs []string
}

// Origin is what GitHub's facts say about where a commit comes from.
type Origin struct {
	// Base is true when the commit is proven to belong to the base repository.
	Base bool
	// Fork is true when the commit is proven to come from another repository; ForkRepo
	// names it ("" when its repository was deleted).
	Fork     bool
	ForkRepo string
	// PR is the pull request the proof came through, when there is one: where a refused
	// request can be answered.
	PR *PullRequest
	// Why says how the origin was established, or why it could not be.
	Why string
}

// Known tells whether the origin was established.
func (o Origin) Known() bool { return o.Base || o.Fork }

// ResolveOrigin establishes where a commit comes from, asking GitHub as little as it can:
// a known pull request whose head is the commit answers with no request; else each
// candidate ref is asked whether it contains the commit; else the open pull requests
// are searched for one with the commit as head. GitHub errors leave the origin unknown
// (and say so): the forks rule then refuses, it never guesses.
func ResolveOrigin(ctx context.Context, gh OriginGitHub, c CommitRef) Origin {
	base := c.Repo.FullName()
	if c.PR != nil && c.PR.HeadSHA == c.SHA {
		return prOrigin(base, *c.PR)
	}
	refs := append([]string(nil), c.Refs...)
	if c.PR != nil && strings.EqualFold(c.PR.HeadRepo, base) {
		refs = append(refs, c.PR.HeadRef)
	}
	var errs []error
	seen := map[string]bool{}
	for _, ref := range refs {
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		if gh == nil {
			break
		}
		ok, err := gh.ContainsCommit(ctx, c.Repo, ref, c.SHA)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return Origin{Base: true, Why: fmt.Sprintf("%s of %s contains %s", ref, base, text.Short(c.SHA))}
		}
	}
	if gh == nil {
		return Origin{Why: "GitHub cannot be asked where " + text.Short(c.SHA) + " comes from"}
	}
	prs, err := gh.PullRequestsWithHead(ctx, c.Repo, c.SHA)
	if err != nil {
		errs = append(errs, err)
	}
	var fork *PullRequest
	for i, pr := range prs {
		if pr.HeadSHA != c.SHA {
			continue
		}
		if strings.EqualFold(pr.HeadRepo, base) {
			return prOrigin(base, pr)
		}
		if fork == nil {
			fork = &prs[i]
		}
	}
	if fork != nil {
		return prOrigin(base, *fork)
	}
	why := fmt.Sprintf("no branch or tag of %s is known to contain %s, and no open pull request has it as head", base, text.Short(c.SHA))
	if len(errs) > 0 {
		why += " (GitHub: " + errors.Join(errs...).Error() + ")"
	}
	return Origin{Why: why}
}

func prOrigin(base string, pr PullRequest) Origin {
	if strings.EqualFold(pr.HeadRepo, base) {
		return Origin{Base: true, PR: &pr, Why: fmt.Sprintf("#%d comes from branch %s of %s", pr.Number, pr.HeadRef, base)}
	}
	from := "a fork that was deleted"
	if pr.HeadRepo != "" {
		from = "the fork " + pr.HeadRepo
	}
	return Origin{Fork: true, ForkRepo: pr.HeadRepo, PR: &pr, Why: fmt.Sprintf("#%d comes from %s", pr.Number, from)}
}
