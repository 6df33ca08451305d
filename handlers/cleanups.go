package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/gitops"
)

// PullRequest cleans up the previews of a pull request when it closes, merged or not.
type PullRequest struct{ *Base }

// Handles names the event.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle decodes, filters and delegates.
func (h *PullRequest) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var event github.PullRequestEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse pull_request payload: %w", err)
	}
	if event.GetAction() != "closed" {
		return nil
	}
	pr := event.GetPullRequest()
	installation := event.GetInstallation().GetID()
	ctx, log := githubapp.PreparePRContext(ctx, installation, event.GetRepo(), pr.GetNumber())
	if proposal, ok := commands.ParseProposal(pr.GetBody()); ok && pr.GetUser().GetType() == "Bot" && strings.HasPrefix(pr.GetHead().GetRef(), "auger/") {
		// A gitops pull request Auger opened for a release that waits for a person.
		log.Info().Bool("merged", pr.GetMerged()).Str("env", proposal.Env).Msg("proposal closed")
		closed := commands.ProposalClosed{Proposal: proposal, Number: pr.GetNumber(), URL: pr.GetHTMLURL(), By: event.GetSender().GetLogin()}
		if pr.GetMerged() {
			closed.MergeCommit = pr.GetMergeCommitSHA()
		}
		return h.closeProposal(ctx, closed)
	}
	log.Info().Bool("merged", pr.GetMerged()).Msg("pull request closed: cleaning up its previews")
	return h.cleanup(ctx, installation, commands.CleanupRequest{
		Repo: repoRef(event.GetRepo()), Event: artifact.CleanupPRClosed, Branch: pr.GetHead().GetRef(), SHA: pr.GetHead().GetSHA(), PR: pr.GetNumber(),
		HeadRepo: pr.GetHead().GetRepo().GetFullName(),
		Actor:    gitops.Actor{TriggeredBy: event.GetSender().GetLogin(), Trigger: fmt.Sprintf("pull-request-closed:%d", pr.GetID())},
	})
}

// Delete cleans up the previews of a deleted branch.
type Delete struct{ *Base }

// Handles names the event.
func (h *Delete) Handles() []string { return []string{"delete"} }

// Handle decodes, filters and delegates.
func (h *Delete) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	var event github.DeleteEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse delete payload: %w", err)
	}
	if event.GetRefType() != "branch" {
		return nil
	}
	installation := event.GetInstallation().GetID()
	ctx, log := githubapp.PrepareRepoContext(ctx, installation, event.GetRepo())
	log.Info().Str("branch", event.GetRef()).Msg("branch deleted: cleaning up its previews")
	return h.branchDeleted(ctx, installation, repoRef(event.GetRepo()), event.GetRef(), event.GetSender().GetLogin(), deliveryID)
}

// branchDeleted cleans up after a branch, from a delete or a push event (GitHub sends
// both; the second finds nothing left to do).
func (b *Base) branchDeleted(ctx context.Context, installation int64, repo commands.RepoRef, branch, sender, deliveryID string) error {
	return b.cleanup(ctx, installation, commands.CleanupRequest{
		Repo: repo, Event: artifact.CleanupBranchDeleted, Branch: branch,
		Actor: gitops.Actor{TriggeredBy: sender, Trigger: "branch-deleted:" + repo.FullName() + ":" + branch + ":" + deliveryID},
	})
}

// closeProposal tells a closed proposal on its application repository, through the
// App's installation there (the event came through the gitops repository's).
func (b *Base) closeProposal(ctx context.Context, c commands.ProposalClosed) error {
	if b.PullRequests == nil {
		return nil
	}
	app, err := b.Clients.NewAppClient()
	if err != nil {
		return fmt.Errorf("GitHub App client: %w", err)
	}
	installation, err := githubapi.RepoInstallation(ctx, app, c.Repo)
	if err != nil {
		return fmt.Errorf("installation of %s: %w", c.Repo.FullName(), err)
	}
	gh, err := b.github(installation)
	if err != nil {
		return err
	}
	return b.PullRequests.CloseProposal(ctx, gh, c)
}

func (b *Base) cleanup(ctx context.Context, installation int64, req commands.CleanupRequest) error {
	if b.PullRequests == nil {
		return nil
	}
	gh, err := b.github(installation)
	if err != nil {
		return err
	}
	_, err = b.PullRequests.Cleanup(ctx, gh, req)
	return err
}

var (
	_ githubapp.EventHandler = (*PullRequest)(nil)
	_ githubapp.EventHandler = (*Delete)(nil)
)
