package commandstest

import (
	"context"

	"github.com/auger-dev/auger/commands"
)

// Origin fakes commands.OriginGitHub.
type Origin struct {
	// Contains says, per "ref@sha", whether the ref contains the commit; missing is false.
	Contains      map[string]bool
	ContainsError error
	// Heads are the open pull requests PullRequestsWithHead answers with (filtered by sha).
	Heads      []commands.PullRequest
	HeadsError error

	log
}

// ContainsCommit answers from Contains.
func (o *Origin) ContainsCommit(_ context.Context, _ commands.RepoRef, ref, sha string) (bool, error) {
	o.record("contains " + ref)
	if o.ContainsError != nil {
		return false, o.ContainsError
	}
	return o.Contains[ref+"@"+sha], nil
}

// PullRequestsWithHead answers with the Heads whose head is sha.
func (o *Origin) PullRequestsWithHead(_ context.Context, _ commands.RepoRef, sha string) ([]commands.PullRequest, error) {
	o.record("pulls")
	if o.HeadsError != nil {
		return nil, o.HeadsError
	}
	var out []commands.PullRequest
	for _, pr := range o.Heads {
		if pr.HeadSHA == sha {
			out = append(out, pr)
		}
	}
	return out, nil
}

// Calls lists the calls made, in order ("contains <ref>", "pulls").
func (o *Origin) Calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

var _ commands.OriginGitHub = (*Origin)(nil)
