package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

// Auger acknowledged a /deploy and died before handling it. On start, it asks GitHub to
// redeliver the recent webhooks: the lost one is handled once, and the ones it had
// handled change nothing; asking again changes nothing either.
func TestCatchUpAfterACrash(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, agentTokens...) // with agents, so releases get Deployments
	w.repo.SetPermission("jane", "write")
	_, pr := w.pullRequest(t, "feature", "frontend")

	// The webhook URL's front door (a load balancer): while Auger is down, a delivery is
	// acknowledged and lost, as when Auger dies right after answering.
	var up atomic.Bool
	target, _ := url.Parse(strings.TrimSuffix(w.hook, "/api/github/hook"))
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if up.Load() {
			proxy.ServeHTTP(rw, r)
			return
		}
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(front.Close)

	id := w.repo.AddComment(pr, "jane", "/deploy staging")
	p := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(p, id)
	w.fake.Deliver(t, front.URL+"/api/github/hook", testSecret, "issue_comment", "", p)
	time.Sleep(200 * time.Millisecond)
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "" && n != "0" {
		t.Fatalf("the lost delivery was handled: %s commits", n)
	}

	up.Store(true)
	ctx := context.Background()
	// The recording of the artifact was handled: only the lost comment is asked for.
	asked, err := w.srv.CatchUp(ctx, 10*time.Minute)
	if err != nil || asked != 1 {
		t.Fatalf("catch up asked for %d redeliveries, want 1 (the lost one): %v", asked, err)
	}
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("reply after catching up:\n%s", reply)
	}
	if asked, err := w.srv.CatchUp(ctx, 10*time.Minute); err != nil || asked != 0 {
		t.Fatalf("second catch up asked for %d redeliveries (want none: all handled): %v", asked, err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "1" {
		t.Errorf("gitops commits = %s, want 1", n)
	}
	replies := 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			replies++
		}
	}
	if replies != 1 || len(w.repo.Deployments()) != 1 {
		t.Errorf("%d replies, %d deployments after catching up twice; want 1 each", replies, len(w.repo.Deployments()))
	}
}

// A restart after 100 handled deliveries asks GitHub for the delivery list and redelivers
// none of them: the journal says they were handled.
func TestRestartAfterHandledDeliveriesCostsTheListOnly(t *testing.T) {
	fake := githubfake.New(t)
	fake.AddInstallation(installationID, "mycompany")
	repo := fake.AddRepo("mycompany", "frontend")
	state := t.TempDir()
	cfg := writeFile(t, "auger.yaml", "server: {catchUpWindow: 10m}\n")
	hook, _, _ := startAuger(t, fake, cfg, "AUGER_STATE_DIR="+state)
	sha := repo.AddCommit(githubfake.Commit{Branch: "main", Message: "no .auger here"})
	for range 100 {
		p := githubfake.Payload(t, "check_suite", "completed")
		repo.Retarget(p, sha)
		if resp := fake.Deliver(t, hook, testSecret, "check_suite", "", p); resp.StatusCode >= 300 {
			t.Fatalf("delivery answered %d", resp.StatusCode)
		}
	}
	// The first server handles them all; the restarted process finds its journal.
	deadline := time.Now().Add(30 * time.Second)
	for journalLines(t, state) < 100 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, _, restarted := startAuger(t, fake, cfg, "AUGER_STATE_DIR="+state)
	before := len(fake.Requests())
	asked, err := restarted.CatchUp(context.Background(), 10*time.Minute)
	if err != nil || asked != 0 {
		t.Fatalf("catch up after 100 handled deliveries asked for %d: %v", asked, err)
	}
	ops := map[string]int{}
	for _, r := range fake.Requests()[before:] {
		ops[r.OperationID]++
	}
	if ops["apps/redeliver-webhook-delivery"] != 0 || ops["apps/list-webhook-deliveries"] > 2 {
		t.Errorf("requests of the catch-up: %v", ops)
	}
	t.Logf("restart after 100 handled deliveries: %v", ops)
}

// journalLines counts the deliveries the journals in dir hold.
func journalLines(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	files, _ := filepath.Glob(filepath.Join(dir, "deliveries-*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			n += strings.Count(string(data), "\n")
		}
	}
	return n
}
