package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/auger-dev/auger/internal/text"
)

// Lengths kept of user text in a Slack summary: a section holds at most 3000 characters.
const (
	maxSlackReason  = 200
	maxSlackMessage = 300
)

// slack posts to a Slack incoming webhook.
type slack struct{ endpoint }

// NewSlack returns a Notifier posting to the Slack incoming webhook at webhookURL with
// client (http.DefaultClient if nil). The message is a mrkdwn summary of the event and
// a context line of its links.
func NewSlack(webhookURL string, client *http.Client) Notifier {
	return slack{newEndpoint("slack", webhookURL, client)}
}

// Notify posts e as a Slack message.
func (s slack) Notify(ctx context.Context, e Event) error {
	body, err := json.Marshal(slackMessageOf(e))
	if err != nil {
		return fmt.Errorf("%s: encode %s: %w", s, e.Kind, err)
	}
	return s.post(ctx, body, http.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {userAgent},
	})
}

// slackMessage is an incoming webhook's payload: text is the notification's fallback.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func slackMessageOf(e Event) slackMessage {
	summary := slackSummary(e)
	msg := slackMessage{
		Text:   summary,
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: summary}}},
	}
	if links := slackLinks(e); links != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: links}}})
	}
	return msg
}

// slackSummary says what happened in one line of mrkdwn, such as
// "🚀 *frontend* `deae5db` released to *staging* by jane".
func slackSummary(e Event) string {
	app, env := "*"+slackEscape(e.App)+"*", "*"+slackEscape(e.Env)+"*"
	subject := app
	if ref := shortRef(e); ref != "" {
		subject += " `" + slackEscape(ref) + "`"
	}
	reason := slackEscape(text.Truncate(oneLine(e.Reason), maxSlackReason))
	by := ""
	if e.Actor != "" {
		by = " by " + slackEscape(oneLine(e.Actor))
	}

	var s string
	switch e.Kind {
	case ReleaseStarted:
		s = "🚀 " + subject + " released to " + env + by
	case ReleaseLive:
		s = "🟢 " + subject + " is live in " + env
	case ReleaseFailed:
		s = "🔴 " + subject + " failed in " + env
		if reason != "" {
			s += ": " + reason
		}
	case RolledBack:
		s = "⏪ " + subject + " rolled back in " + env
		if reason != "" {
			s += " to " + reason
		}
		s += by
	case CleanedUp:
		s = "🧹 preview " + app + " removed from " + env
	default:
		s = "ℹ️ " + subject + " in " + env + ": " + slackEscape(oneLine(string(e.Kind)))
	}
	if first, _, _ := strings.Cut(strings.TrimSpace(e.Message), "\n"); first != "" {
		s += " — " + slackEscape(text.Truncate(oneLine(first), maxSlackMessage))
	}
	return s
}

// shortRef names the released version: the short commit SHA, or else the artifact.
func shortRef(e Event) string {
	if e.SHA != "" {
		return text.Short(e.SHA)
	}
	return oneLine(e.Artifact)
}

// slackLinks is "PR · commit · gitops commit · check · environment", each label a link,
// or "" when the event has no link.
func slackLinks(e Event) string {
	var links []string
	for _, l := range []struct{ url, label string }{
		{e.PullRequestURL, "PR"},
		{e.CommitURL, "commit"},
		{e.GitopsCommitURL, "gitops commit"},
		{e.CheckRunURL, "check"},
		{e.EnvironmentURL, "environment"},
	} {
		if link := slackLink(l.url, l.label); link != "" {
			links = append(links, link)
		}
	}
	return strings.Join(links, " · ")
}

// slackLink is "<url|label>", or "" unless rawURL is an absolute http(s) URL.
func slackLink(rawURL, label string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	// "|" would end the URL early; &, < and > are escaped like any text.
	return "<" + slackEscape(strings.ReplaceAll(u.String(), "|", "%7C")) + "|" + label + ">"
}

// slackEscape escapes the characters Slack treats as markup: &, < and >.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
