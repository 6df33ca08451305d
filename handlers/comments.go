package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/auger-dev/auger/commands"
)

// IssueComment turns pull-request comments into release commands.
type IssueComment struct{ *Base }

// Handles names the event.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle decodes, filters and delegates. Edits, deletions, comments on issues and
// comments by bots are ignored: only a new comment by a person is a command.
func (h *IssueComment) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var event github.IssueCommentEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("parse issue_comment payload: %w", err)
	}
	comment := event.GetComment()
	if event.GetAction() != "created" || !event.GetIssue().IsPullRequest() ||
		comment.GetUser().GetType() == "Bot" || strings.HasSuffix(comment.GetUser().GetLogin(), "[bot]") {
		return nil
	}
	cmd, err := commands.Parse(comment.GetBody())
	if errors.Is(err, commands.ErrNoCommand) {
		return nil
	}
	installation := event.GetInstallation().GetID()
	ctx, log := githubapp.PreparePRContext(ctx, installation, event.GetRepo(), event.GetIssue().GetNumber())
	log.Info().Str("command", describe(cmd, err)).Str("user", comment.GetUser().GetLogin()).Msg("received command")
	gh, gerr := h.github(installation)
	if gerr != nil {
		return gerr
	}
	return h.PullRequests.Run(ctx, gh, commands.Trigger{
		Repo:           repoRef(event.GetRepo()),
		PR:             event.GetIssue().GetNumber(),
		Actor:          comment.GetUser().GetLogin(),
		ID:             fmt.Sprintf("comment:%d", comment.GetID()),
		CommentID:      comment.GetID(),
		CommentCreated: comment.GetCreatedAt().Time,
	}, cmd, err)
}

func describe(cmd commands.Command, err error) string {
	if cmd == nil {
		return "unparsable: " + err.Error()
	}
	return cmd.String()
}

var _ githubapp.EventHandler = (*IssueComment)(nil)
