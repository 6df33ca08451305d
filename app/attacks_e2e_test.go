package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

// Comments that must never release: an edit of a comment into /deploy, a bot's
// /deploy, and a several-megabyte comment whose command hides past what Auger reads.
// Nothing is written, and no secret reaches the logs (startAuger checks).
func TestCommentsThatMustNotRelease(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "admin")
	w.repo.SetPermission("deploy-bot[bot]", "admin")
	_, pr := w.pullRequest(t, "feature", "frontend")

	edited := githubfake.Payload(t, "issue_comment", "edited")
	w.repo.RetargetComment(edited, w.repo.AddComment(pr, "jane", "/deploy staging"))
	w.fake.Deliver(t, w.hook, testSecret, "issue_comment", "", edited)

	bot := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(bot, w.repo.AddComment(pr, "deploy-bot[bot]", "/deploy staging"))
	bot["comment"].(map[string]any)["user"].(map[string]any)["type"] = "Bot"
	w.fake.Deliver(t, w.hook, testSecret, "issue_comment", "", bot)

	huge := strings.Repeat("lorem ipsum\n", 400_000) + "/deploy staging\n" // ~4.8 MB of prose, then a command
	big := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(big, w.repo.AddComment(pr, "jane", huge))
	if resp := w.fake.Deliver(t, w.hook, testSecret, "issue_comment", "", big); resp.StatusCode != 200 {
		t.Errorf("a large comment was answered %d", resp.StatusCode)
	}

	time.Sleep(500 * time.Millisecond)
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "" && n != "0" {
		t.Errorf("%s gitops commits were written", n)
	}
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			t.Errorf("Auger answered:\n%s", c.Body)
		}
	}
}
