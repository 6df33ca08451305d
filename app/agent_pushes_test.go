package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/notify"
)

// An agent's long poll answers at once when the count differs, waits for the next gitops
// write of its own environment otherwise, and refuses a missing token or a bad count.
func TestAgentPushesLongPoll(t *testing.T) {
	signal := newPushSignal()
	h := &agentPushes{auth: &agentReports{tokens: map[string][]byte{"staging": []byte("s-token"), "production": []byte("p-token")}},
		signal: signal, wait: 2 * time.Second}
	poll := func(token, after string) (int, uint64, time.Duration) {
		req := httptest.NewRequest(http.MethodGet, "/api/agent/v1/pushes?after="+after, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		began := time.Now()
		h.ServeHTTP(rec, req)
		var answer struct{ Seq uint64 }
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		return rec.Code, answer.Seq, time.Since(began)
	}
	if code, _, _ := poll("", "0"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := poll("s-token", "-1"); code != http.StatusBadRequest {
		t.Errorf("bad count: %d", code)
	}

	// A write to production and a notification that is no write do not wake staging's poll.
	go func() {
		time.Sleep(100 * time.Millisecond)
		signal.Notify(notify.Event{Kind: notify.ReleaseStarted, Env: "production"})
		signal.Notify(notify.Event{Kind: notify.ReleaseLive, Env: "staging"})
		time.Sleep(100 * time.Millisecond)
		signal.Notify(notify.Event{Kind: notify.ReleaseStarted, Env: "staging"})
	}()
	code, seq, took := poll("s-token", "0")
	if code != http.StatusOK || seq != 1 || took < 200*time.Millisecond || took > time.Second {
		t.Errorf("poll: %d, seq %d after %v; want 1 after the staging write", code, seq, took)
	}
	if _, seq, took := poll("s-token", "0"); seq != 1 || took > 100*time.Millisecond {
		t.Errorf("a behind agent: seq %d after %v, want 1 at once", seq, took)
	}
	if _, seq, took := poll("p-token", "1"); seq != 1 || took < 2*time.Second {
		t.Errorf("nothing new: seq %d after %v, want 1 after the wait", seq, took)
	}
}

// A write this replica never heard of (another replica's) wakes the poll once the gitops
// tip it reads while the agent waits has moved; an unmoved tip and a failed reading do not.
func TestAgentPushesSeeOtherReplicasWrites(t *testing.T) {
	var mu sync.Mutex
	tip, failing := "aaa", false
	h := &agentPushes{auth: &agentReports{tokens: map[string][]byte{"staging": []byte("s-token")}},
		signal: newPushSignal(), wait: 2 * time.Second, tipEvery: 20 * time.Millisecond,
		tip: func(_ context.Context, env string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if env != "staging" {
				t.Errorf("tip read for %q", env)
			}
			if failing {
				return "", errors.New("gitops remote down")
			}
			return tip, nil
		}}
	poll := func(after string) (uint64, time.Duration) {
		req := httptest.NewRequest(http.MethodGet, "/api/agent/v1/pushes?after="+after, nil)
		req.Header.Set("Authorization", "Bearer s-token")
		rec := httptest.NewRecorder()
		began := time.Now()
		h.ServeHTTP(rec, req)
		var answer struct{ Seq uint64 }
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("poll: %d %s", rec.Code, rec.Body)
		}
		return answer.Seq, time.Since(began)
	}
	set := func(newTip string, fail bool) {
		mu.Lock()
		defer mu.Unlock()
		tip, failing = newTip, fail
	}

	// Nothing moves, and a reading that fails is no news: the poll waits it out.
	go func() { time.Sleep(200 * time.Millisecond); set("aaa", true) }()
	if seq, took := poll("0"); seq != 0 || took < 2*time.Second {
		t.Errorf("unmoved tip: seq %d after %v, want 0 after the wait", seq, took)
	}
	// Another replica pushes: the tip moves while the agent waits.
	set("aaa", false)
	go func() { time.Sleep(300 * time.Millisecond); set("bbb", false) }()
	if seq, took := poll("0"); seq != 1 || took < 300*time.Millisecond || took > time.Second {
		t.Errorf("moved tip: seq %d after %v, want 1 soon after the move", seq, took)
	}
}
