package commands

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/manifests"
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

// A diff reply is cut at an object's boundary, or inside the one object larger than the
// room left, with every block closed and the objects left out counted.
func TestDiffReplyCut(t *testing.T) {
	a := &artifact.Artifact{Version: artifact.Version{SHA: "deae5dbaf237766240181fa397e923d3c5253112"}}
	change := func(name string, lines int) manifests.Change {
		var b strings.Builder
		b.WriteString("--- a/" + name + "\n+++ b/" + name + "\n")
		for i := range lines {
			b.WriteString("+  key-" + strings.Repeat("x", 50) + ": " + string(rune('a'+i%26)) + "\n")
		}
		return manifests.Change{File: name, Kind: manifests.Added, Diff: b.String()}
	}
	tests := map[string]struct {
		changes []manifests.Change
		limit   int
		shown   int
		leftOut string
	}{
		"fits":             {changes: []manifests.Change{change("a.yaml", 10), change("b.yaml", 10)}, limit: 65536, shown: 2},
		"cut between":      {changes: []manifests.Change{change("a.yaml", 10), change("b.yaml", 10), change("c.yaml", 10)}, limit: 2000, shown: 2, leftOut: "… 1 more objects left out"},
		"one huge object":  {changes: []manifests.Change{change("a.yaml", 5000), change("b.yaml", 3)}, limit: 65536, shown: 1, leftOut: "… 1 more objects left out"},
		"only huge object": {changes: []manifests.Change{change("a.yaml", 5000)}, limit: 65536, shown: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reply := diffReply("staging", a, []AppDiff{{App: "web", Env: "staging", Released: true, Changes: tc.changes}}, tc.limit)
			if n := utf8.RuneCountInString(reply); n > tc.limit {
				t.Errorf("reply has %d characters, limit %d", n, tc.limit)
			}
			if got := strings.Count(reply, "<details>"); got != tc.shown || got != strings.Count(reply, "</details>") || strings.Count(reply, "```")%2 != 0 {
				t.Errorf("%d objects shown, want %d, every block closed:\n%s", got, tc.shown, reply)
			}
			if tc.leftOut != "" && !strings.Contains(reply, tc.leftOut) || tc.leftOut == "" && strings.Contains(reply, "left out") {
				t.Errorf("reply does not say %q:\n%.500s", tc.leftOut, reply)
			}
		})
	}
}
