package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
)

// IssueComment turns pull-request comments into release commands.
type IssueComment struct {
	*Base
	// FastAck says the server acknowledges each command as its webhook arrives
	// (Acknowledge), before the command waits for a worker; Handle then does not.
	FastAck bool
}

// Handles names the event.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle decodes, filters and delegates. Edits, deletions, comments on issues and
// comments by bots are ignored: only a new comment by a person is a command.
func (h *IssueComment) Handle(ctx context.Context, _, _ string, payload []byte) error {
	c, ok, err := decodeCommand(payload)
	if !ok {
		return err
	}
	ctx, log := githubapp.PreparePRContext(ctx, c.installation, c.event.GetRepo(), c.event.GetIssue().GetNumber())
	log.Info().Str("command", describe(c.cmd, c.parseErr)).Str("user", c.trigger.Actor).Msg("received command")
	gh, gerr := h.github(c.installation)
	if gerr != nil {
		return gerr
	}
	c.trigger.Acknowledged = h.FastAck
	return h.PullRequests.Run(ctx, gh, c.trigger, c.cmd, c.parseErr)
}

// Acknowledge puts 👀 on a comment that holds a command, at once: the server calls it as
// the webhook arrives, outside the queue of commands.
func (h *IssueComment) Acknowledge(ctx context.Context, payload []byte) bool {
	c, ok, _ := decodeCommand(payload)
	if !ok {
		return false
	}
	ctx, _ = githubapp.PreparePRContext(ctx, c.installation, c.event.GetRepo(), c.event.GetIssue().GetNumber())
	gh, err := h.github(c.installation)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not acknowledge the comment")
		return false
	}
	return h.PullRequests.Acknowledge(ctx, gh, c.trigger)
}

// commented is a comment that holds a command (or a command Auger could not parse).
type commented struct {
	event        github.IssueCommentEvent
	installation int64
	trigger      commands.Trigger
	cmd          commands.Command
	parseErr     error
}

// decodeCommand reads the command of a new comment by a person on a pull request; ok
// is false for any other event, with an error when the payload is not one.
func decodeCommand(payload []byte) (c commented, ok bool, err error) {
	if err := json.Unmarshal(payload, &c.event); err != nil {
		return c, false, fmt.Errorf("parse issue_comment payload: %w", err)
	}
	event, comment := &c.event, c.event.GetComment()
	if event.GetAction() != "created" || !event.GetIssue().IsPullRequest() ||
		comment.GetUser().GetType() == "Bot" || strings.HasSuffix(comment.GetUser().GetLogin(), "[bot]") {
		return c, false, nil
	}
	c.cmd, c.parseErr = commands.Parse(comment.GetBody())
	if errors.Is(c.parseErr, commands.ErrNoCommand) {
		return c, false, nil
	}
	c.installation = event.GetInstallation().GetID()
	c.trigger = commands.Trigger{
		Repo:           repoRef(event.GetRepo()),
		PR:             event.GetIssue().GetNumber(),
		Actor:          comment.GetUser().GetLogin(),
		ID:             fmt.Sprintf("comment:%d", comment.GetID()),
		CommentID:      comment.GetID(),
		CommentCreated: comment.GetCreatedAt().Time,
	}
	return c, true, nil
}

func describe(cmd commands.Command, err error) string {
	if cmd == nil {
		return "unparsable: " + err.Error()
	}
	return cmd.String()
}

var _ githubapp.EventHandler = (*IssueComment)(nil)
