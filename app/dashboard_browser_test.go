package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
)

// chromium finds the browser the browser tests drive: AUGER_CHROMIUM, or Debian's
// chromium, which scripts/test.sh installs.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AUGER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser tests need Chromium: apt-get install chromium (scripts/test.sh does), or set AUGER_CHROMIUM")
	return ""
}

// newBrowser starts a headless Chromium of its own (its own profile, so its own
// cookies) for the test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

func browse(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func browserSignIn(t testing.TB, ctx context.Context, auger, login string) {
	t.Helper()
	browse(t, ctx, "sign in as "+login,
		chromedp.Navigate(auger+"/"),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.Click(chromedp.CSS("#authorize")),
		chromedp.WaitVisible(chromedp.CSS("span.who")))
}

// TestDashboardInBrowser drives the dashboard in a real headless Chromium: sign in, see
// the matrix, see a cell go progressing → live as the agent reports, deploy an artifact,
// roll back, lock; a reader's Deploy is refused with the rule, and a forged action
// without the CSRF token is refused. It saves the screenshots the README shows.
func TestDashboardInBrowser(t *testing.T) {
	w := newDashboardWorld(t, agentEnvironments, "STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=production-agent-token")
	w.repo.SetPermission("jane", "write")
	w.repo.SetPermission("rita", "read")
	first, pr := w.pullRequest(t, "checkout-flow", "frontend")
	w.comment(t, pr, "jane", "/deploy staging", "")
	w.reply(t, pr, 1)
	w.comment(t, pr, "jane", "/deploy production", "")
	w.reply(t, pr, 2)
	second, _ := w.pullRequest(t, "faster-search", "frontend")

	ctx := newBrowser(t)
	browserSignIn(t, ctx, w.auger, "jane")
	browse(t, ctx, "the matrix", chromedp.WaitVisible(chromedp.CSS(`td[data-env="staging"][data-app="frontend"][data-state="progressing"]`)))

	id := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, first)
	report := func(env string, phase agent.Phase, reason agent.Reason) {
		s := agent.ReleaseState{App: "frontend", Namespace: env, Release: id, Repository: "mycompany/frontend", SHA: first, Phase: phase, Reason: reason,
			Workloads: []agent.WorkloadState{{Kind: "Deployment", Name: "frontend", Desired: 2, Updated: 2, Ready: 2, Available: 2}}}
		w.report(t, env+"-agent-token", agent.Report{APIVersion: agent.ReportAPIVersion, Env: env, Releases: []agent.ReleaseState{s}, SentAt: time.Now()})
	}
	report("staging", agent.PhaseAvailable, "")
	report("production", agent.PhaseFailed, agent.ReasonImagePull)
	start := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	browse(t, waitCtx, "the cell turns live without a reload", chromedp.WaitVisible(chromedp.CSS(`td[data-env="staging"][data-app="frontend"][data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-env="production"][data-app="frontend"][data-state="failed"]`)))
	cancel()
	t.Logf("live in the browser %s after the reports", time.Since(start).Round(10*time.Millisecond))
	screenshot(t, ctx, "../docs/dashboard-home.png")

	// The app page: deploy the newer artifact.
	deployButton := chromedp.CSS(`tr[data-sha="` + second + `"] button.deploy`)
	browse(t, ctx, "open the app page", chromedp.Navigate(w.auger+"/app/staging/frontend"), chromedp.WaitVisible(deployButton))
	screenshot(t, ctx, "../docs/dashboard-app.png")
	browse(t, ctx, "deploy", chromedp.Click(deployButton))
	text := textOf(t, ctx, "section.result")
	if !strings.Contains(text, "Done") || !strings.Contains(text, "Released frontend "+second[:7]+" to staging") {
		t.Errorf("deploy result: %s", text)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Triggered-By: jane") || !strings.Contains(msg, "Auger-Trigger: dashboard:") {
		t.Errorf("gitops commit:\n%s", msg)
	}

	// A forged action without the CSRF token, sent from the page itself, is refused.
	browse(t, ctx, "open the app page again", chromedp.Navigate(w.auger+"/app/staging/frontend"), chromedp.WaitVisible(chromedp.CSS("#lock")))
	forged, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/actions/deploy", {method: "POST", body: new URLSearchParams({env: "staging", app: "frontend", repository: "mycompany/frontend", sha: "`+first+`"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || forged != 403 {
		t.Errorf("forged action answered %d (%v)", forged, err)
	}

	// Roll back, then lock.
	browse(t, ctx, "roll back", chromedp.Click(chromedp.CSS(`button.rollback`)))
	if text = textOf(t, ctx, "section.result"); !strings.Contains(text, "Rolled back") {
		t.Errorf("rollback result: %s", text)
	}
	browse(t, ctx, "lock", chromedp.Navigate(w.auger+"/app/staging/frontend"), chromedp.WaitVisible(chromedp.CSS("#lock")),
		chromedp.SendKeys(chromedp.CSS(`input[name="reason"]`), "release freeze"), chromedp.Click(chromedp.CSS("#lock")),
	)
	if text = textOf(t, ctx, "section.result"); !strings.Contains(text, "Locked frontend in staging") {
		t.Errorf("lock result: %s", text)
	}
	browse(t, ctx, "the lock shows", chromedp.Navigate(w.auger+"/"))
	if text = textOf(t, ctx, `td[data-env="staging"][data-app="frontend"]`); !strings.Contains(text, "release freeze") {
		t.Errorf("the cell does not show the lock: %s", text)
	}

	// rita reads frontend, so she sees it; her Deploy is refused with the rule.
	rita := newBrowser(t)
	browserSignIn(t, rita, w.auger, "rita")
	browse(t, rita, "rita's app page", chromedp.Navigate(w.auger+"/app/staging/frontend"), chromedp.WaitVisible(chromedp.CSS(`button.deploy`)),
		chromedp.Click(chromedp.CSS(`button.deploy`)))
	if text = textOf(t, rita, "section.result"); !strings.Contains(text, "Refused by the rule permission") || !strings.Contains(text, "@rita has read access") {
		t.Errorf("rita's deploy: %s", text)
	}
}

// textOf is the text of the first element sel matches, once it is there: asked again
// when a navigation (a form's answer arriving) replaced the page under the query.
func textOf(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	var err error
	for range 20 {
		var text string
		if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
			return text
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("text of %s: %v", sel, err)
	return ""
}

// screenshot saves the page; into docs/ (the README's pictures) when
// AUGER_UPDATE_SCREENSHOTS is set, else into the test's own folder, so a test run leaves
// the work tree as it was.
func screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	if os.Getenv("AUGER_UPDATE_SCREENSHOTS") == "" {
		path = filepath.Join(t.TempDir(), filepath.Base(path))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
