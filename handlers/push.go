package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
)

// Push remembers which branch or tag a commit was pushed to, and its details, for the
// check events that follow; deleted branches are noted for cleanups.
type Push struct{ *Base }

// Handles names the event.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle decodes and remembers.
func (h *Push) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	var event github.PushEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse push payload: %w", err)
	}
	repo := event.GetRepo()
	ctx, log := githubapp.PrepareRepoContext(ctx, event.GetInstallation().GetID(), &github.Repository{
		Name: repo.Name, Owner: &github.User{Login: repo.GetOwner().Login},
	})
	branch, tag := branchOf(event.GetRef())
	if event.GetDeleted() {
		if branch == "" {
			return nil
		}
		log.Info().Str("branch", branch).Msg("branch deleted: cleaning up its previews")
		ref := commands.RepoRef{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName()}
		return h.branchDeleted(ctx, event.GetInstallation().GetID(), ref, branch, event.GetSender().GetLogin(), deliveryID)
	}
	if branch == "" && tag == "" {
		return nil
	}
	full := repo.GetOwner().GetLogin() + "/" + repo.GetName()
	ref := Ref{Branch: branch, Tag: tag}
	if hc := event.GetHeadCommit(); hc != nil && hc.GetID() == event.GetAfter() {
		ref.Commit = &commands.Commit{
			SHA:            hc.GetID(),
			Message:        hc.GetMessage(),
			AuthorName:     hc.GetAuthor().GetName(),
			AuthorEmail:    hc.GetAuthor().GetEmail(),
			CommitterName:  hc.GetCommitter().GetName(),
			CommitterEmail: hc.GetCommitter().GetEmail(),
			HTMLURL:        hc.GetURL(),
		}
	}
	h.Refs.Put(full, event.GetAfter(), ref)
	log.Debug().Str("sha", event.GetAfter()).Str("branch", branch).Str("tag", tag).Msg("push remembered")
	return nil
}

// Installation logs installations; Auger needs no per-installation state.
type Installation struct{ *Base }

// Handles names the event.
func (h *Installation) Handles() []string { return []string{"installation"} }

// Handle logs the installation.
func (h *Installation) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var event github.InstallationEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse installation payload: %w", err)
	}
	zerolog.Ctx(ctx).Info().Str("action", event.GetAction()).Int64("installation", event.GetInstallation().GetID()).
		Str("account", event.GetInstallation().GetAccount().GetLogin()).Msg("installation event")
	return nil
}

var (
	_ githubapp.EventHandler = (*Push)(nil)
	_ githubapp.EventHandler = (*Installation)(nil)
)
