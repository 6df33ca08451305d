package commands

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutCommentKeepsUnderGitHubsLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("🚀 **Released** `frontend`\n\n<details><summary>Objects</summary>\n\n")
	for i := 0; b.Len() < 200_000; i++ {
		b.WriteString("- added `configmap-" + strings.Repeat("x", 40) + ".yaml`\n")
	}
	b.WriteString("</details>\n")
	cut := cutComment(b.String())
	if n := utf8.RuneCountInString(cut); n > maxComment {
		t.Fatalf("cut reply has %d characters", n)
	}
	if strings.Count(cut, "<details>") != strings.Count(cut, "</details>") {
		t.Error("the cut left <details> open")
	}
	if !strings.Contains(cut, "cut here") || strings.Contains(cut, "`configmap-xxxxxxxxxx\n") {
		t.Error("the cut is not marked, or falls inside a line")
	}
	if short := "fits"; cutComment(short) != short {
		t.Error("a short reply was changed")
	}
}
