package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/auger-dev/auger/commands"
)

// CheckSuite records a commit's artifact when one of its check suites completes.
type CheckSuite struct{ *Base }

// Handles names the event.
func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle decodes, filters and delegates.
func (h *CheckSuite) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var event github.CheckSuiteEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse check_suite payload: %w", err)
	}
	suite := event.GetCheckSuite()
	if event.GetAction() != "completed" || suite.GetApp().GetID() == h.AppID {
		return nil
	}
	ctx, _ = githubapp.PrepareRepoContext(ctx, event.GetInstallation().GetID(), event.GetRepo())
	repo := event.GetRepo()
	commitURL := repo.GetHTMLURL() + "/commit/" + suite.GetHeadSHA()
	return h.record(ctx, event.GetInstallation().GetID(), repo, suite.GetHeadSHA(), suite.GetHeadBranch(), suite.PullRequests,
		headCommit(suite.HeadCommit, suite.GetHeadSHA(), commitURL))
}

// CheckRun records a commit's artifact when one of its check runs completes, and runs
// the Checks-UI buttons of Auger's own check runs ("Deploy to <env>", "Roll back") as
// the user who clicked.
type CheckRun struct{ *Base }

// Handles names the event.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle decodes, filters and delegates.
func (h *CheckRun) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	var event github.CheckRunEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse check_run payload: %w", err)
	}
	run := event.GetCheckRun()
	if event.GetAction() == "requested_action" && run.GetApp().GetID() == h.AppID {
		return h.button(ctx, &event, deliveryID)
	}
	if event.GetAction() != "completed" || run.GetApp().GetID() == h.AppID {
		return nil
	}
	ctx, _ = githubapp.PrepareRepoContext(ctx, event.GetInstallation().GetID(), event.GetRepo())
	return h.record(ctx, event.GetInstallation().GetID(), event.GetRepo(), run.GetHeadSHA(), run.GetCheckSuite().GetHeadBranch(), run.PullRequests, nil)
}

// button turns a click into the command it stands for.
func (h *CheckRun) button(ctx context.Context, event *github.CheckRunEvent, deliveryID string) error {
	run, id := event.GetCheckRun(), event.GetRequestedAction().Identifier
	var cmd commands.Command
	switch name := run.GetName(); {
	case name == commands.CheckArtifact:
		env, ok := h.PullRequests.EnvironmentForAction(id)
		if !ok {
			return nil
		}
		cmd = commands.Deploy{Env: env}
	case strings.HasPrefix(name, commands.CheckDeployPrefix) && id == commands.RollbackActionID:
		rb := commands.Rollback{Env: strings.TrimPrefix(name, commands.CheckDeployPrefix)}
		if _, apps := commands.ParseDeployCheckID(run.GetExternalID()); len(apps) == 1 {
			rb.App = apps[0]
		}
		cmd = rb
	default:
		return nil
	}
	installation := event.GetInstallation().GetID()
	ctx, log := githubapp.PrepareRepoContext(ctx, installation, event.GetRepo())
	log.Info().Str("button", id).Str("check_run", run.GetName()).Str("user", event.GetSender().GetLogin()).Msg("button clicked")
	gh, err := h.github(installation)
	if err != nil {
		return err
	}
	t := commands.Trigger{
		Repo:       repoRef(event.GetRepo()),
		SHA:        run.GetHeadSHA(),
		Branch:     run.GetCheckSuite().GetHeadBranch(),
		CheckRunID: run.GetID(),
		Actor:      event.GetSender().GetLogin(),
		// A redelivered click has the same delivery id: the release it made is found.
		ID: fmt.Sprintf("check-run:%d:%s:%s", run.GetID(), id, deliveryID),
	}
	// GitHub names no pull request (and no branch) for a fork's head: an empty list
	// means "unknown", and the rules establish the commit's origin themselves.
	if prs := run.PullRequests; len(prs) > 0 {
		t.PR = prs[0].GetNumber()
	}
	return h.PullRequests.Run(ctx, gh, t, cmd, nil)
}

var (
	_ githubapp.EventHandler = (*CheckSuite)(nil)
	_ githubapp.EventHandler = (*CheckRun)(nil)
)
