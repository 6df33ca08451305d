package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJournalKeepsOneWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "deliveries-1.log")
	old := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	recent := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(old+" old-guid\n"+recent+" recent-guid\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	j.finished("new-guid")
	if j.has("old-guid") || !j.has("recent-guid") || !j.has("new-guid") {
		t.Errorf("journal: old %v, recent %v, new %v", j.has("old-guid"), j.has("recent-guid"), j.has("new-guid"))
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "old-guid") || strings.Contains(string(data), "garbage") || !strings.Contains(string(data), "new-guid") {
		t.Errorf("journal file after a restart:\n%s", data)
	}
	var none *journal
	none.finished("x")
	if none.has("x") || none.close() != nil {
		t.Error("a server without a journal remembers nothing and fails nothing")
	}
}
