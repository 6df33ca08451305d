package snippet_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/auger-dev/auger/internal/snippet"
)

func TestGet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	doc := "intro\n<!-- snippet: a -->\n```yaml\nx: 1\n```\n<!-- snippet: ab -->\n```\nsh\n```\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := snippet.Get(t, path, "a"); got != "x: 1\n" {
		t.Errorf("a = %q", got)
	}
	if got := snippet.Get(t, path, "ab"); got != "sh\n" {
		t.Errorf("ab = %q", got)
	}
}
