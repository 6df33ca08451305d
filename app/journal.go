package app

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// journal is the list of webhook deliveries this server finished, kept on its own disk,
// so that catching up after a restart asks GitHub to redeliver only what it did not
// finish (lost in a crash, or failed) instead of every delivery of the window: a
// restart after 100 handled deliveries costs one list request, not 100 redeliveries
// and their handling. It holds GitHub's delivery GUIDs and times, nothing secret.
// Another replica's deliveries are not in it; redelivering those is harmless (every
// handler is idempotent) and only costs requests.
type journal struct {
	mu   sync.Mutex
	file *os.File
	// done maps the GUIDs finished within the window to when.
	done map[string]time.Time
}

// openJournal reads the journal at path, keeps the entries of the last window and
// rewrites it with only those, so it never grows past one window of deliveries.
func openJournal(path string, window time.Duration) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	j := &journal{done: map[string]time.Time{}}
	since := time.Now().Add(-window)
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			at, guid, ok := strings.Cut(sc.Text(), " ")
			t, err := time.Parse(time.RFC3339, at)
			if ok && err == nil && t.After(since) && guid != "" {
				j.done[guid] = t
			}
		}
		f.Close()
	}
	var b strings.Builder
	for guid, t := range j.done {
		fmt.Fprintf(&b, "%s %s\n", t.UTC().Format(time.RFC3339), guid)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	j.file = f
	return j, nil
}

// finished records a delivery handled without error. A write that fails only costs a
// redelivery at the next start.
func (j *journal) finished(guid string) {
	if j == nil || guid == "" {
		return
	}
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done[guid] = now
	fmt.Fprintf(j.file, "%s %s\n", now.UTC().Format(time.RFC3339), guid) //nolint:errcheck // see above
}

// has tells whether a delivery was finished here.
func (j *journal) has(guid string) bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.done[guid]
	return ok
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	return j.file.Close()
}
