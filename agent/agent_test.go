package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/auger-dev/auger/agent"
)

// receiver is an Auger server stand-in that records reports (the real server is tested
// end to end in app/).
type receiver struct {
	mu      sync.Mutex
	reports []agent.Report
	down    atomic.Bool
	srv     *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if req.Header.Get("Authorization") != "Bearer agent-token" || req.URL.Path != "/api/agent/v1/report" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		var rep agent.Report
		if err := json.NewDecoder(req.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.reports = append(r.reports, rep)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// latest is the newest state reported for app, and how many reports mentioned it.
func (r *receiver) latest(app string) (agent.ReleaseState, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last agent.ReleaseState
	n := 0
	for _, rep := range r.reports {
		for _, s := range rep.Releases {
			if s.App == app {
				last = s
				n++
			}
		}
	}
	return last, n
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAgentReportsChangesCoalescedAndSurvivesOutages(t *testing.T) {
	recv := newReceiver(t)
	unmanaged := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns, Labels: map[string]string{"app": "other"}}}
	client := fake.NewSimpleClientset(deployment("web", "r1", 1, rolling(1, 0, 0)), pod("web", "r1", "web-abc", crashLoop("web", "Error", 2)), unmanaged)
	a, err := agent.New(agent.Options{Server: recv.srv.URL, Env: "production", Token: "agent-token", Client: client, Log: zerolog.Nop(),
		Tick: 20 * time.Millisecond, MinInterval: 200 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Resync: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx) //nolint:errcheck // ends with ctx

	waitUntil(t, "the crash loop report", func() bool { s, _ := recv.latest("web"); return s.Reason == agent.ReasonCrashLoop })
	if s, _ := recv.latest("web"); s.Phase != agent.PhaseFailed || s.SHA != "sha-r1" || s.Repository != "acme/web" {
		t.Errorf("state = %+v", s)
	}
	if _, n := recv.latest("other"); n != 0 {
		t.Error("an unmanaged pod was reported")
	}

	// The same state again and again (restart counts going up) is reported at most once
	// per MinInterval... and here not at all, as nothing the server shows changes.
	_, before := recv.latest("web")
	for i := 0; i < 20; i++ {
		p := pod("web", "r1", "web-abc", crashLoop("web", "Error", 2))
		p.Status.ContainerStatuses[0].RestartCount = int32(5 + i)
		if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if _, after := recv.latest("web"); after-before > 2 {
		t.Errorf("a restarting pod sent %d reports in 0.5 s", after-before)
	}

	// The server goes down; the pod recovers meanwhile; when it is back, the latest state arrives.
	recv.down.Store(true)
	client.CoreV1().Pods(ns).UpdateStatus(ctx, pod("web", "r1", "web-abc"), metav1.UpdateOptions{})       //nolint:errcheck
	client.AppsV1().Deployments(ns).UpdateStatus(ctx, deployment("web", "r1", 1), metav1.UpdateOptions{}) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)
	recv.down.Store(false)
	waitUntil(t, "the available report after the outage", func() bool { s, _ := recv.latest("web"); return s.Phase == agent.PhaseAvailable })
	recv.mu.Lock()
	full := recv.reports[len(recv.reports)-1].Full
	recv.mu.Unlock()
	if !full {
		t.Error("the first report after an outage is not a full resync")
	}
}

func TestAgentNeedsItsSettings(t *testing.T) {
	if _, err := agent.New(agent.Options{Env: "staging", Token: "x", Client: fake.NewSimpleClientset()}); err == nil {
		t.Error("an agent without a server started")
	}
	if got := agent.Selector("staging"); got != "app.kubernetes.io/managed-by=auger,auger.dev/env=staging" {
		t.Errorf("selector = %q", got)
	}
}
