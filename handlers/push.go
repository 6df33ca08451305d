package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
)

// Push cleans up the previews of a branch a push deleted (GitHub sends a delete event
// too; the second finds nothing left to do). Pushes of commits need nothing: recording
// reads what it needs from the check events and GitHub, so it does not depend on which
// replica saw the push.
type Push struct{ *Base }

// Handles names the event.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle decodes, filters and delegates.
func (h *Push) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	var event github.PushEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse push payload: %w", err)
	}
	branch, ok := strings.CutPrefix(event.GetRef(), "refs/heads/")
	if !event.GetDeleted() || !ok {
		return nil
	}
	repo := event.GetRepo()
	ctx, log := githubapp.PrepareRepoContext(ctx, event.GetInstallation().GetID(), &github.Repository{
		Name: repo.Name, Owner: &github.User{Login: repo.GetOwner().Login},
	})
	log.Info().Str("branch", branch).Msg("branch deleted: cleaning up its previews")
	ref := commands.RepoRef{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName()}
	return h.branchDeleted(ctx, event.GetInstallation().GetID(), ref, branch, event.GetSender().GetLogin(), deliveryID)
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
