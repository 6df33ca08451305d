package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"
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

// CheckRun records a commit's artifact when one of its check runs completes. (The
// "Deploy to <env>" buttons, requested_action, come with the release commands.)
type CheckRun struct{ *Base }

// Handles names the event.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle decodes, filters and delegates.
func (h *CheckRun) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var event github.CheckRunEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse check_run payload: %w", err)
	}
	run := event.GetCheckRun()
	if event.GetAction() != "completed" || run.GetApp().GetID() == h.AppID {
		return nil
	}
	ctx, _ = githubapp.PrepareRepoContext(ctx, event.GetInstallation().GetID(), event.GetRepo())
	return h.record(ctx, event.GetInstallation().GetID(), event.GetRepo(), run.GetHeadSHA(), run.GetCheckSuite().GetHeadBranch(), run.PullRequests, nil)
}

var (
	_ githubapp.EventHandler = (*CheckSuite)(nil)
	_ githubapp.EventHandler = (*CheckRun)(nil)
)
