package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// GitHub answering with faults: 502 on reads, secondary rate limits (403 with
// Retry-After) and 429s on any request, slow answers. A /deploy still lands once, with
// one reply, one deploy check run and one Deployment.
func TestDeploySurvivesGitHubFaults(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, agentTokens...) // with agents, so releases get Deployments
	w.repo.SetPermission("jane", "write")
	_, pr := w.pullRequest(t, "feature", "frontend")

	var n, injected atomic.Int64
	w.fake.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			if strings.Contains(r.URL.Path, "/access_tokens") {
				next.ServeHTTP(rw, r)
				return
			}
			switch {
			case r.Method == http.MethodGet && i%3 == 0:
				injected.Add(1)
				http.Error(rw, `{"message":"Server Error"}`, http.StatusBadGateway)
				return
			case i%5 == 0:
				injected.Add(1)
				rw.Header().Set("Retry-After", "1")
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusForbidden)
				rw.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)) //nolint:errcheck
				return
			case i%7 == 0:
				injected.Add(1)
				rw.Header().Set("Retry-After", "0")
				http.Error(rw, `{"message":"Too Many Requests"}`, http.StatusTooManyRequests)
				return
			case i%4 == 0:
				time.Sleep(150 * time.Millisecond)
			}
			next.ServeHTTP(rw, r)
		})
	})

	id := w.comment(t, pr, "jane", "/deploy staging", "")
	reply := w.reply(t, pr, 1)
	if !strings.Contains(reply, "**Released**") {
		t.Fatalf("reply under faults:\n%s\n%s", reply, w.logs.String())
	}
	t.Logf("faults injected: %d of %d requests", injected.Load(), n.Load())
	if injected.Load() < 3 {
		t.Errorf("only %d faults were injected", injected.Load())
	}
	time.Sleep(500 * time.Millisecond)
	if c := w.gitops(t, "rev-list", "--count", "main"); c != "1" {
		t.Errorf("gitops commits = %s, want 1", c)
	}
	replies, checks := 0, 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			replies++
		}
	}
	for _, cr := range w.augerRuns(w.repo.Head("feature")) {
		if cr.Name == "Auger: deploy staging" {
			checks++
		}
	}
	if replies != 1 || checks != 1 || len(w.repo.Deployments()) != 1 {
		t.Errorf("replies %d, deploy check runs %d, deployments %d; want one each", replies, checks, len(w.repo.Deployments()))
	}
	waitFor(t, func() bool { return strings.Join(w.repo.Reactions(id), ",") == "eyes" })
}

// GitHub creates the reply, the deploy check run and the Deployment but answers 502:
// Auger finds them (by the reply's trigger marker, the check run's name and external id,
// the Deployment's payload) instead of creating them twice.
func TestCreationsAnsweredWithServerErrorsAreNotDoubled(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, agentTokens...) // with agents, so releases get Deployments
	w.repo.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "feature", "frontend")
	var comments, checks, deployments atomic.Int64
	w.fake.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			first := false
			switch {
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/issues/1/comments"):
				first = comments.Add(1) == 1
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/check-runs"):
				first = checks.Add(1) == 1
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/deployments"):
				first = deployments.Add(1) == 1
			}
			if !first {
				next.ServeHTTP(rw, r)
				return
			}
			// Done, but the answer is lost.
			next.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(rw, `{"message":"Server Error"}`, http.StatusBadGateway)
		})
	})
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("reply:\n%s", reply)
	}
	time.Sleep(300 * time.Millisecond)
	replies, deployChecks := 0, 0
	for _, c := range w.repo.Comments(pr) {
		if strings.Contains(c.Body, "auger:trigger=") {
			replies++
		}
	}
	for _, cr := range w.augerRuns(sha) {
		if cr.Name == "Auger: deploy staging" {
			deployChecks++
		}
	}
	if replies != 1 || deployChecks != 1 || len(w.repo.Deployments()) != 1 {
		t.Errorf("%d replies, %d deploy check runs, %d deployments; want one each", replies, deployChecks, len(w.repo.Deployments()))
	}
}
