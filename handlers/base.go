package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
)

// Observer is told what each artifact recording did (the server counts it).
type Observer interface {
	RecordedArtifact(outcome string)
}

// Base holds what every handler needs.
type Base struct {
	Clients  githubapp.ClientCreator
	Recorder *commands.Recorder
	// PullRequests runs /commands, buttons and deploy policies.
	PullRequests *commands.PullRequests
	// AppID is Auger's own App: events about its own check runs are ignored.
	AppID int64
	// WebURL is GitHub's web base (https://github.com/), for links.
	WebURL   string
	Observer Observer
	// Blobs keeps the env config files read, so a recording reads only what changed.
	Blobs *githubapi.Blobs
}

// github returns the GitHub adapter for an installation: all that every use case needs.
func (b *Base) github(installationID int64) (*githubapi.Client, error) {
	client, err := b.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("GitHub client for installation %d: %w", installationID, err)
	}
	return githubapi.New(client).WithBlobs(b.Blobs), nil
}

func repoRef(r *github.Repository) commands.RepoRef {
	return commands.RepoRef{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}
}

// record builds the record request of a commit from what its check event said, and
// nothing else (any replica, before or after a restart, records the same artifact), and
// records the artifact. headBranch is the suite's head_branch (a tag's name for a tag
// push's suite: the Recorder tells them apart); commit is what the event said about the
// commit itself, when it said anything.
func (b *Base) record(ctx context.Context, installationID int64, repo *github.Repository, sha, headBranch string, prs []*github.PullRequest, commit *commands.Commit) error {
	log := zerolog.Ctx(ctx)
	gh, err := b.github(installationID)
	if err != nil {
		return err
	}
	ref := repoRef(repo)
	req := commands.RecordRequest{Repo: ref, SHA: sha, HeadBranch: headBranch, DefaultBranch: repo.GetDefaultBranch(), Commit: commit}
	if len(prs) > 0 {
		pr := prs[0]
		req.PullRequest = &commands.PullRequestRef{
			Number:  pr.GetNumber(),
			HeadRef: pr.GetHead().GetRef(),
			BaseRef: pr.GetBase().GetRef(),
			URL:     fmt.Sprintf("%s%s/pull/%d", b.WebURL, ref.FullName(), pr.GetNumber()),
		}
	}
	res, err := b.Recorder.Record(ctx, gh, req)
	outcome := string(res.Outcome)
	if err != nil {
		outcome = "error"
	}
	if b.Observer != nil {
		b.Observer.RecordedArtifact(outcome)
	}
	if err != nil {
		return err
	}
	// Policies run when the artifact is recorded, and resume on any later event for the
	// commit (a redelivery, another check completing) while the artifact check run
	// shows one not done.
	resume := res.Outcome == commands.OutcomeAlreadyRecorded && b.PullRequests != nil && b.PullRequests.PoliciesPending(res.CheckRun)
	if (res.Outcome == commands.OutcomeRecorded || resume) && b.PullRequests != nil {
		if err := b.PullRequests.ReleaseByPolicy(ctx, gh, ref, res.CheckRun); err != nil {
			return fmt.Errorf("policy releases of %s@%s: %w", ref.FullName(), sha, err)
		}
	}
	ev := log.Debug()
	if res.Outcome == commands.OutcomeRecorded || res.Outcome == commands.OutcomeInvalid {
		ev = log.Info().Int64("check_run", res.CheckRun.ID)
	}
	ev.Str("sha", sha).Str("outcome", outcome).Str("reason", res.Reason).Msg("artifact recording")
	return nil
}

// headCommit converts the commit a check suite event carries.
func headCommit(c *github.Commit, sha, htmlURL string) *commands.Commit {
	if c == nil || c.GetMessage() == "" {
		return nil
	}
	return &commands.Commit{
		SHA:            sha,
		Message:        c.GetMessage(),
		AuthorName:     c.GetAuthor().GetName(),
		AuthorEmail:    c.GetAuthor().GetEmail(),
		CommitterName:  c.GetCommitter().GetName(),
		CommitterEmail: c.GetCommitter().GetEmail(),
		HTMLURL:        htmlURL,
	}
}
