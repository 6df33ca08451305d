package app_test

import (
	"fmt"
	"io"
	stdlog "log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// augerBinary builds `auger` once per test run.
func augerBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auger-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "auger")
		out, err := exec.Command("go", "build", "-o", binaryPath, "..").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// 20 times: a /deploy reaches `auger serve`, which is killed (SIGKILL) at a random moment
// and started again; on start it catches up on the recent deliveries. Every requested
// release lands exactly once, and no reply is doubled.
func TestKilledAtRandomPointsEveryReleaseLandsOnce(t *testing.T) {
	const runs = 20
	bin := augerBinary(t)
	w := newReleaseWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	apps := make([]string, runs)
	var docs []string
	for i := range apps {
		apps[i] = fmt.Sprintf("app-%02d", i)
		docs = append(docs, w.envConfig(apps[i], "staging", false))
	}
	_, pr := w.pullRequestWith(t, "many", map[string]string{".auger/staging.yaml": strings.Join(docs, "---\n")})

	cfg := writeFile(t, "auger.yaml", fmt.Sprintf("github: {pacingUnit: 1ms}\ncharts:\n  allowedSources: [%q]\ngitops:\n  cacheDir: %q\nserver:\n  catchUpWindow: 10m\nenvironments:\n%s",
		w.chartURL, t.TempDir(), agentEnvironments)) // with agents, so releases get Deployments
	env := append(append(os.Environ(), agentTokens...), fmt.Sprintf("AUGER_GITHUB_APP_ID=%d", w.fake.AppID()), "AUGER_GITHUB_PRIVATE_KEY="+string(w.fake.PrivateKeyPEM()),
		"AUGER_GITHUB_WEBHOOK_SECRET="+testSecret, "AUGER_GITHUB_API_URL="+w.fake.URL, "AUGER_GITHUB_WEB_URL="+w.git.URL+"/",
		"AUGER_CHART_CACHE_DIR="+t.TempDir(), "HOME="+t.TempDir())

	// The webhook URL stays; the process behind it changes.
	var backend atomic.Pointer[httputil.ReverseProxy]
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if p := backend.Load(); p != nil {
			p.ServeHTTP(rw, r)
			return
		}
		http.Error(rw, "down", http.StatusBadGateway)
	}))
	t.Cleanup(front.Close)
	logs, err := os.Create(filepath.Join(t.TempDir(), "auger.log"))
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = append(env, "AUGER_LISTEN="+addr)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse("http://" + addr)
		for i := 0; i < 200; i++ {
			if r, err := http.Get(u.String() + "/readyz"); err == nil && r.StatusCode == 200 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		// Resets from the process killed under a request are what this test makes.
		proxy.ErrorLog = stdlog.New(io.Discard, "", 0)
		backend.Store(proxy)
		return cmd
	}
	proc := start()
	t.Cleanup(func() { proc.Process.Kill(); proc.Wait() }) //nolint:errcheck

	for _, app := range apps {
		id := w.repo.AddComment(pr, "jane", "/deploy staging "+app)
		p := githubfake.Payload(t, "issue_comment", "created")
		w.repo.RetargetComment(p, id)
		w.fake.Deliver(t, front.URL+"/api/github/hook", testSecret, "issue_comment", "", p)
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		proc.Process.Signal(syscall.SIGKILL) //nolint:errcheck
		proc.Wait()                          //nolint:errcheck
		backend.Store(nil)
		proc = start()
	}
	// The last start's catch-up covers every deploy; wait for all of them.
	deadline := time.Now().Add(3 * time.Minute)
	for w.gitops(t, "rev-list", "--count", "main") != fmt.Sprint(runs) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	w.reply(t, pr, runs)
	time.Sleep(time.Second)
	log := w.gitops(t, "log", "--format=%B", "main")
	for _, app := range apps {
		if n := strings.Count(log, "Auger-App: "+app+"\n"); n != 1 {
			t.Errorf("%s released %d times, want 1", app, n)
		}
	}
	if n := w.gitops(t, "rev-list", "--count", "main"); n != fmt.Sprint(runs) {
		t.Errorf("gitops commits = %s, want %d", n, runs)
	}
	replies := map[string]int{}
	for _, c := range w.repo.Comments(pr) {
		if i := strings.Index(c.Body, "auger:trigger="); i >= 0 {
			replies[c.Body[i:]]++
			if !strings.Contains(c.Body, "**Released**") {
				t.Errorf("a deploy did not release:\n%s", c.Body)
			}
		}
	}
	for trigger, n := range replies {
		if n > 1 {
			t.Errorf("%d replies to %s", n, trigger)
		}
	}
	// A kill between the gitops commit and the reply is finished by the redelivery.
	if len(replies) != runs || len(w.repo.Deployments()) != runs {
		t.Errorf("%d replies and %d deployments for %d deploys", len(replies), len(w.repo.Deployments()), runs)
	}
	t.Logf("%d releases landed once each across %d kills, with %d replies", runs, runs, len(replies))
}
