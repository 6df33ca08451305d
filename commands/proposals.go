package commands

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

// A release proposed as a gitops pull request that waits for a person is told as
// proposed (a queued deploy check run, no Deployment). Auger, installed on the gitops
// repository, hears when that pull request closes: merged, the proposal becomes the
// release (check run, Deployment, channels); closed unmerged, it is cancelled. What the
// proposal is about rides in the gitops pull request's body, so no process has to
// remember it.

// Proposal is what a gitops pull request proposes.
type Proposal struct {
	Repo     RepoRef  `json:"repo"`
	SHA      string   `json:"sha"`
	Artifact string   `json:"artifact"`
	Env      string   `json:"env"`
	Apps     []string `json:"apps"`
	Actor    string   `json:"actor"`
	// PR is the application pull request the release was asked on (0: none).
	PR int `json:"pr,omitempty"`
}

var proposalMarker = regexp.MustCompile(`<!-- auger:proposal=([A-Za-z0-9_-]+) -->`)

// marker is the proposal as a hidden line of the gitops pull request's body.
func (pr Proposal) marker() string {
	data, _ := json.Marshal(pr) // plain strings and ints: cannot fail
	return "<!-- auger:proposal=" + base64.RawURLEncoding.EncodeToString(data) + " -->"
}

// ParseProposal reads the proposal in a gitops pull request's body, if it has one.
func ParseProposal(body string) (Proposal, bool) {
	m := proposalMarker.FindStringSubmatch(body)
	if m == nil {
		return Proposal{}, false
	}
	data, err := base64.RawURLEncoding.DecodeString(m[1])
	var pr Proposal
	if err != nil || json.Unmarshal(data, &pr) != nil || pr.SHA == "" || pr.Env == "" || pr.Repo.Owner == "" {
		return Proposal{}, false
	}
	return pr, true
}

// ProposalClosed is a gitops pull request of a proposal that closed.
type ProposalClosed struct {
	Proposal
	// Number and URL are the gitops pull request's; MergeCommit is set when it merged.
	Number      int
	URL         string
	MergeCommit string
	By          string
}

// CloseProposal turns a proposal into the release it proposed when its gitops pull
// request merged, or cancels it when it closed unmerged. It is idempotent: a deploy
// check run no longer queued is left alone.
func (p *PullRequests) CloseProposal(ctx context.Context, gh PullRequestsGitHub, c ProposalClosed) error {
	rules, err := p.environment(c.Env)
	if err != nil {
		return err
	}
	runs, err := gh.CheckRuns(ctx, c.Repo, c.SHA)
	if err != nil {
		return err
	}
	var check *CheckRun
	for i, cr := range runs {
		if p.Recorder.own(cr) && cr.Name == CheckDeployPrefix+rules.Name && cr.ExternalID == DeployCheckID(c.Artifact, c.Apps) {
			check = &runs[i]
		}
	}
	if check == nil || check.Status != "queued" {
		zerolog.Ctx(ctx).Debug().Str("env", c.Env).Int("gitops_pr", c.Number).Msg("proposal already told")
		return nil
	}
	link := fmt.Sprintf("[#%d](%s)", c.Number, c.URL)
	if c.MergeCommit == "" {
		_, err := gh.UpdateCheckRun(ctx, c.Repo, CheckRun{ID: check.ID, Name: check.Name, Status: "completed", Conclusion: "cancelled",
			Title:   "Proposal closed unmerged; nothing was released",
			Summary: check.Summary + fmt.Sprintf("\n\nGitops pull request %s was closed without merging by %s: nothing was released to **%s**.", link, escapeMarkdown(c.By), rules.Name)})
		return err
	}
	s := &shipment{repo: c.Repo, rules: rules, actor: c.Actor, pr: c.PR, trigger: "proposal:" + c.URL,
		art: &artifact.Artifact{ID: c.Artifact, Version: artifact.Version{RepositoryName: c.Repo.FullName(), SHA: c.SHA}}}
	for _, app := range c.Apps {
		s.done = append(s.done, Released{App: app, Env: rules.Name, Result: gitops.Result{Commit: c.MergeCommit, Changed: true}})
	}
	upd := p.deployCheck(s)
	upd.ID = check.ID
	upd.Summary += fmt.Sprintf("\n\nGitops pull request %s was merged by %s.", link, escapeMarkdown(c.By))
	if s.check, err = gh.UpdateCheckRun(ctx, c.Repo, upd); err != nil {
		return fmt.Errorf("tell the merged proposal: %w", err)
	}
	s.check.HTMLURL = firstNonEmpty(s.check.HTMLURL, check.HTMLURL)
	var failed []error
	if err := p.deployment(ctx, gh, s); err != nil {
		failed = append(failed, err)
	}
	p.started(s)
	p.watch(gh, s)
	if c.PR != 0 {
		body := fmt.Sprintf("🚀 **Released** `%s` `%s` to **%s**: gitops pull request %s merged by %s as %s.\n",
			strings.Join(c.Apps, ", "), text.Short(c.SHA), rules.Name, link, escapeMarkdown(c.By), p.gitopsLink(rules, c.MergeCommit))
		t := Trigger{Repo: c.Repo, PR: c.PR, ID: s.trigger}
		if replied, err := p.replied(ctx, gh, t); err != nil || !replied {
			failed = append(failed, err, p.replyOnce(ctx, gh, t, body+"\n"+marker(t.ID)))
		}
	}
	return errors.Join(failed...)
}
