package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	w := newReleaseWorld(t, defaultEnvironments)
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
	asked, err := w.srv.CatchUp(ctx, 10*time.Minute)
	if err != nil || asked < 2 {
		t.Fatalf("catch up asked for %d redeliveries: %v", asked, err)
	}
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("reply after catching up:\n%s", reply)
	}
	if _, err := w.srv.CatchUp(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
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
