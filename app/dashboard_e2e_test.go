package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
)

// dashboardWorld is a releaseWorld whose Auger has its dashboard on. GitHub's web host
// (where people sign in, and where Auger clones the gitops repository from) is one
// address in front of the fake's sign-in pages and the git server, as github.com is.
type dashboardWorld struct {
	*releaseWorld
	// auger is Auger's base URL; web GitHub's web host.
	auger string
	web   string
}

func newDashboardWorld(t testing.TB, environments string, env ...string) *dashboardWorld {
	t.Helper()
	var gitURL, fakeURL atomic.Pointer[url.URL]
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := gitURL.Load()
		if strings.HasPrefix(r.URL.Path, "/login/") || strings.HasSuffix(r.URL.Path, "/settings/apps/new") {
			target = fakeURL.Load()
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(web.Close)
	rw := newReleaseWorld(t, environments, append([]string{"AUGER_GITHUB_WEB_URL=" + web.URL + "/",
		"AUGER_GITHUB_CLIENT_ID=" + githubfake.ClientID, "AUGER_GITHUB_CLIENT_SECRET=" + githubfake.ClientSecret}, env...)...)
	g, _ := url.Parse(rw.git.URL)
	f, _ := url.Parse(rw.fake.URL)
	gitURL.Store(g)
	fakeURL.Store(f)
	t.Cleanup(func() {
		for _, secret := range []string{githubfake.ClientSecret, "ghu_"} {
			if strings.Contains(rw.logs.String(), secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
	})
	return &dashboardWorld{releaseWorld: rw, auger: strings.TrimSuffix(rw.hook, "/api/github/hook"), web: web.URL}
}

// browser is one person's browser: a cookie jar that follows redirects.
type browser struct {
	t      testing.TB
	client *http.Client
	base   string
	// lastURL and lastHeader are the last answer's (after redirects).
	lastURL    string
	lastHeader http.Header
}

func (w *dashboardWorld) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar}, base: w.auger}
}

// signIn goes through GitHub's sign-in as login and returns the page it lands on.
func (b *browser) signIn(login string) string {
	b.t.Helper()
	status, page := b.get("/signin")
	if status != http.StatusOK || !strings.Contains(page, "Sign in to GitHub") {
		b.t.Fatalf("GitHub's sign-in page: %d\n%s", status, page)
	}
	form := url.Values{}
	for _, name := range []string{"client_id", "redirect_uri", "state"} {
		form.Set(name, field(page, name))
	}
	form.Set("login", login)
	at, _ := url.Parse(b.lastURL)
	resp, err := b.client.PostForm(at.Scheme+"://"+at.Host+"/login/oauth/authorize", form)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("sign-in answered %d:\n%s", resp.StatusCode, body)
	}
	return string(body)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil, nil)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, nil)
}

func (b *browser) do(method, path string, form url.Values, header http.Header) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.lastURL = resp.Request.URL.String()
	b.lastHeader = resp.Header
	return resp.StatusCode, string(data)
}

// field is the value of the first input named name in an HTML page.
func field(page, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// formOf returns the fields of the form that posts to action and holds marker.
func formOf(t testing.TB, page, action, marker string) url.Values {
	t.Helper()
	for _, f := range regexp.MustCompile(`(?s)<form method="post" action="`+regexp.QuoteMeta(action)+`".*?</form>`).FindAllString(page, -1) {
		if !strings.Contains(f, marker) {
			continue
		}
		v := url.Values{}
		for _, m := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(f, -1) {
			v.Set(m[1], strings.ReplaceAll(m[2], "&amp;", "&"))
		}
		return v
	}
	t.Fatalf("no form to %s with %q in:\n%.3000s", action, marker, page)
	return nil
}

func TestDashboardSignInAndMatrix(t *testing.T) {
	w := newDashboardWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	other := w.fake.AddRepo("mycompany", "billing")
	other.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "new-feature", "frontend")
	w.comment(t, pr, "jane", "/deploy staging", "")
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "**Released**") {
		t.Fatalf("deploy reply:\n%s", reply)
	}

	// Signed out: only the sign-in page, with a strict content security policy.
	anon := w.browser(t)
	status, page := anon.get("/")
	if status != http.StatusOK || !strings.Contains(page, "Sign in with GitHub") || strings.Contains(page, "frontend") {
		t.Errorf("signed-out home: %d\n%s", status, page)
	}
	if csp := anon.lastHeader.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("content security policy %q", csp)
	}
	if status, page := anon.get("/app/staging/frontend"); status != http.StatusOK || strings.Contains(page, sha[:7]) {
		t.Errorf("signed-out app page shows the app: %d", status)
	}

	jane := w.browser(t)
	home := jane.signIn("jane")
	cell := regexp.MustCompile(`(?s)<td class="cell" data-env="staging" data-app="frontend".*?</td>`).FindString(home)
	for _, want := range []string{sha[:7], "#" + fmt.Sprint(pr) + " (new-feature)", "jane", `data-state="released"`} {
		if !strings.Contains(cell, want) {
			t.Errorf("staging/frontend cell lacks %q:\n%s\nhome:\n%s", want, cell, home)
		}
	}
	if !strings.Contains(home, `<td class="cell" data-env="production" data-app="frontend"`) || !strings.Contains(home, "<span class=\"who\">jane</span>") {
		t.Errorf("home:\n%s", home)
	}
	for _, secret := range []string{"ghu_", githubfake.ClientSecret} {
		if strings.Contains(home, secret) {
			t.Errorf("the page shows a secret %q", secret)
		}
	}

	// eve can read none of the repositories: she sees nothing of them, even by URL.
	w.fake.AddRepo("mycompany", "elsewhere").SetPermission("eve", "read")
	eve := w.browser(t)
	page = eve.signIn("eve")
	if strings.Contains(page, "frontend") || strings.Contains(page, sha[:7]) || !strings.Contains(page, "Nothing released that you can see") {
		t.Errorf("eve's home shows frontend:\n%s", page)
	}
	if status, page := eve.get("/app/staging/frontend"); status != http.StatusNotFound || strings.Contains(page, sha[:7]) {
		t.Errorf("eve's app page: %d\n%s", status, page)
	}
	if status, page := eve.get("/env/staging"); status != http.StatusOK || strings.Contains(page, "frontend") {
		t.Errorf("eve's env page: %d\n%s", status, page)
	}

	// A forged session cookie is no session.
	forged := w.browser(t)
	u, _ := url.Parse(w.auger)
	forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: "auger_session", Value: "eyJMb2dpbiI6ImphbmUifQ"}})
	if _, page := forged.get("/"); !strings.Contains(page, "Sign in with GitHub") {
		t.Errorf("a forged cookie signed in:\n%s", page)
	}
}

// TestDashboardActions runs Deploy, Roll back, Lock and Unlock from the dashboard
// through the pipeline's rules: a reader is refused with the rule, a form without the
// session's CSRF token is refused, a person who cannot read the repository finds
// nothing, and the control cases release with the dashboard's trailers.
func TestDashboardActions(t *testing.T) {
	w := newDashboardWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	w.repo.SetPermission("rita", "read")
	first, pr := w.pullRequest(t, "first", "frontend")
	w.comment(t, pr, "jane", "/deploy staging", "")
	w.reply(t, pr, 1)
	second, secondPR := w.pullRequest(t, "second", "frontend")
	commits := func() string { return w.gitops(t, "rev-list", "--count", "main") }

	// rita can read frontend, so she sees it, but her Deploy is refused by the rule.
	rita := w.browser(t)
	rita.signIn("rita")
	_, page := rita.get("/app/staging/frontend")
	form := formOf(t, page, "/actions/deploy", second)
	status, result := rita.post("/actions/deploy", form)
	if status != http.StatusForbidden || !strings.Contains(result, "<strong>permission</strong>") || !strings.Contains(result, "@rita has read access") {
		t.Errorf("rita's deploy: %d\n%s", status, result)
	}
	if n := commits(); n != "1" {
		t.Errorf("a refused deploy wrote: %s gitops commits", n)
	}

	jane := w.browser(t)
	jane.signIn("jane")
	_, page = jane.get("/app/staging/frontend")
	form = formOf(t, page, "/actions/deploy", second)
	// A forged action: the same form without the session's CSRF token, or with another's.
	for name, csrf := range map[string]string{"no token": "", "rita's token": formOf(t, mustGet(t, rita, "/app/staging/frontend"), "/actions/deploy", second).Get("csrf")} {
		if status, result := jane.post("/actions/deploy", withField(form, "csrf", csrf)); status != http.StatusForbidden || !strings.Contains(result, "CSRF") {
			t.Errorf("%s: %d\n%s", name, status, result)
		}
	}
	// A cross-site post is refused by the browser's own word too.
	if status, _ := jane.do(http.MethodPost, "/actions/deploy", form, http.Header{"Sec-Fetch-Site": {"cross-site"}}); status != http.StatusForbidden {
		t.Errorf("cross-site deploy: %d", status)
	}
	if n := commits(); n != "1" {
		t.Errorf("forged deploys wrote: %s gitops commits", n)
	}

	// eve cannot read frontend: her own session's valid form finds nothing.
	w.fake.AddRepo("mycompany", "elsewhere").SetPermission("eve", "write")
	eve := w.browser(t)
	eveHome := eve.signIn("eve")
	if status, result := eve.post("/actions/deploy", withField(form, "csrf", field(eveHome, "csrf"))); status != http.StatusNotFound || strings.Contains(result, second[:7]) {
		t.Errorf("eve's deploy: %d\n%s", status, result)
	}

	// jim's token is revoked after he loaded the page: his Deploy is not taken on the
	// minute-old answer of what he may read; he is signed out and nothing is written.
	w.repo.SetPermission("jim", "write")
	jim := w.browser(t)
	jim.signIn("jim")
	jimForm := formOf(t, mustGet(t, jim, "/app/staging/frontend"), "/actions/deploy", second)
	w.fake.RevokeUserTokens("jim")
	if status, result := jim.post("/actions/deploy", jimForm); status != http.StatusUnauthorized || !strings.Contains(result, "Sign in again") {
		t.Errorf("a revoked token's deploy: %d\n%s", status, result)
	}
	if _, page := jim.get("/"); !strings.Contains(page, "Sign in with GitHub") {
		t.Errorf("a revoked token's session still shows the dashboard:\n%s", page)
	}
	if n := commits(); n != "1" {
		t.Errorf("a revoked token's deploy wrote: %s gitops commits", n)
	}

	// The control case: jane's Deploy releases, recorded with the dashboard's trailers.
	status, result = jane.post("/actions/deploy", form)
	if status != http.StatusOK || !strings.Contains(result, "Done") || !strings.Contains(result, "Released frontend "+second[:7]+" to staging") {
		t.Fatalf("jane's deploy: %d\n%s", status, result)
	}
	msg := w.gitops(t, "log", "-1", "--format=%B", "main")
	for _, want := range []string{"Release frontend " + second[:7] + " to staging", "Auger-Triggered-By: jane", "Auger-Trigger: dashboard:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("gitops commit lacks %q:\n%s", want, msg)
		}
	}
	// The same form sent again changes nothing.
	if status, result := jane.post("/actions/deploy", form); status != http.StatusOK || commits() != "2" {
		t.Errorf("the form sent twice: %d, %s commits\n%s", status, commits(), result)
	}
	if _, home := jane.get("/"); !strings.Contains(regexp.MustCompile(`(?s)data-env="staging" data-app="frontend".*?</td>`).FindString(home), second[:7]) {
		t.Errorf("the matrix does not show the new release:\n%s", home)
	}

	// Roll back to the first release.
	_, page = jane.get("/app/staging/frontend")
	status, result = jane.post("/actions/rollback", formOf(t, page, "/actions/rollback", `name="to" value="1"`))
	if status != http.StatusOK || !strings.Contains(result, "Rolled back") {
		t.Fatalf("rollback: %d\n%s", status, result)
	}
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Action: rollback") || !strings.Contains(msg, "Auger-Triggered-By: jane") {
		t.Errorf("rollback commit:\n%s", msg)
	}
	if _, page = jane.get("/app/staging/frontend"); !strings.Contains(regexp.MustCompile(`(?s)<section class="current.*?</section>`).FindString(page), first[:7]) {
		t.Errorf("the app page does not show the restored release:\n%s", page)
	}

	// Lock: the cell shows it, a Deploy is refused by it, Unlock lifts it.
	lock := formOf(t, page, "/actions/lock", "reason")
	lock.Set("reason", "incident 42")
	if status, result := jane.post("/actions/lock", lock); status != http.StatusOK || !strings.Contains(result, "Locked frontend in staging") {
		t.Fatalf("lock: %d\n%s", status, result)
	}
	_, page = jane.get("/app/staging/frontend")
	if !strings.Contains(page, "🔒 jane: incident 42") {
		t.Errorf("the app page does not show the lock:\n%s", page)
	}
	if status, result := jane.post("/actions/deploy", formOf(t, page, "/actions/deploy", second)); status == http.StatusOK || !strings.Contains(result, "locked") {
		t.Errorf("deploy while locked: %d\n%s", status, result)
	}
	if status, result := jane.post("/actions/unlock", formOf(t, page, "/actions/unlock", "csrf")); status != http.StatusOK || !strings.Contains(result, "Unlocked") {
		t.Errorf("unlock: %d\n%s", status, result)
	}

	// production needs maintain and an approved pull request: the dashboard's Deploy of a
	// pull request's head is judged with that pull request's reviews.
	w.repo.SetPermission("mia", "maintain")
	mia := w.browser(t)
	mia.signIn("mia")
	_, page = mia.get("/app/staging/frontend")
	prod := formOf(t, page, "/actions/deploy", second)
	prod.Set("env", "production")
	if status, result := jane.post("/actions/deploy", withField(prod, "csrf", formOf(t, mustGet(t, jane, "/app/staging/frontend"), "/actions/deploy", second).Get("csrf"))); status != http.StatusForbidden || !strings.Contains(result, "production needs maintain") {
		t.Errorf("jane's production deploy: %d\n%s", status, result)
	}
	if status, result := mia.post("/actions/deploy", prod); status != http.StatusForbidden || !strings.Contains(result, "<strong>requireApproval</strong>") || !strings.Contains(result, "no approving review") {
		t.Errorf("unapproved production deploy: %d\n%s", status, result)
	}
	w.repo.AddReview(secondPR, githubfake.Review{User: "tom", State: "APPROVED"})
	if status, result := mia.post("/actions/deploy", prod); status != http.StatusOK || !strings.Contains(result, "to production") {
		t.Errorf("approved production deploy: %d\n%s", status, result)
	}
}

// withField is a copy of form with one field set.
func withField(form url.Values, name, value string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set(name, value)
	return out
}

func mustGet(t testing.TB, b *browser, path string) string {
	t.Helper()
	status, page := b.get(path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, status, page)
	}
	return page
}

// TestDashboardLiveUpdates: the matrix's live part answers a poll that finds nothing new
// with 304, and shows the agent's report (progressing → live) within 5 s.
func TestDashboardLiveUpdates(t *testing.T) {
	w := newDashboardWorld(t, agentEnvironments, "STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=production-agent-token")
	w.repo.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "feature", "frontend")
	w.comment(t, pr, "jane", "/deploy staging", "")
	w.reply(t, pr, 1)
	jane := w.browser(t)
	jane.signIn("jane")
	cellState := func(page string) string {
		m := regexp.MustCompile(`data-env="staging" data-app="frontend" data-state="([a-z]+)"`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return m[1]
	}
	status, page := jane.get("/?fragment=live")
	etag := jane.lastHeader.Get("ETag")
	if status != http.StatusOK || etag == "" || cellState(page) != "progressing" || strings.Contains(page, "<html") {
		t.Fatalf("live part: %d, ETag %q, state %q\n%s", status, etag, cellState(page), page)
	}
	if status, _ := jane.do(http.MethodGet, "/?fragment=live", nil, http.Header{"If-None-Match": {etag}}); status != http.StatusNotModified {
		t.Errorf("a poll that finds nothing new: %d", status)
	}

	id := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, sha)
	live := agent.ReleaseState{App: "frontend", Namespace: "staging", Release: id, Repository: "mycompany/frontend", SHA: sha, Phase: agent.PhaseAvailable,
		Workloads: []agent.WorkloadState{{Kind: "Deployment", Name: "frontend", Desired: 2, Updated: 2, Ready: 2, Available: 2}},
		Flux:      &agent.FluxState{Kustomization: "staging", Revision: "main@sha1:0123456", Ready: true}}
	reported := time.Now()
	if resp := w.report(t, "staging-agent-token", agent.Report{APIVersion: agent.ReportAPIVersion, Env: "staging", Releases: []agent.ReleaseState{live}, SentAt: reported}); resp.StatusCode != http.StatusOK {
		t.Fatalf("report answered %d", resp.StatusCode)
	}
	for time.Since(reported) < 5*time.Second {
		status, page = jane.do(http.MethodGet, "/?fragment=live", nil, http.Header{"If-None-Match": {etag}})
		if status == http.StatusOK && cellState(page) == "live" {
			t.Logf("live in the dashboard %s after the report", time.Since(reported).Round(time.Millisecond))
			// The environment's page tells the agent's last report and Flux's state.
			_, env := jane.get("/env/staging")
			if !strings.Contains(env, "last rollout report told") || !strings.Contains(env, "Kustomization staging ready, revision main@sha1:0123456") {
				t.Errorf("env page:\n%s", env)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("the cell did not turn live within 5 s: %d %q", status, cellState(page))
}

// TestDashboardReplicas: a second replica, with a cache and a gitops clone of its own,
// takes the first one's session cookie (no server-side store) and shows a release made
// through the first within 5 s, having heard no webhook about it.
func TestDashboardReplicas(t *testing.T) {
	w := newDashboardWorld(t, defaultEnvironments)
	w.repo.SetPermission("jane", "write")
	sha, _ := w.pullRequest(t, "feature", "frontend")
	cfgB := writeFile(t, "auger-b.yaml", fmt.Sprintf("github: {pacingUnit: 1ms}\ncharts:\n  allowedSources: [%q]\ngitops:\n  cacheDir: %q\nenvironments:\n%s",
		w.chartURL, t.TempDir(), defaultEnvironments))
	hookB, _, _ := startAuger(t, w.fake, cfgB, "AUGER_GITHUB_WEB_URL="+w.web+"/", "AUGER_CHART_CACHE_DIR="+t.TempDir(),
		"AUGER_GITHUB_CLIENT_ID="+githubfake.ClientID, "AUGER_GITHUB_CLIENT_SECRET="+githubfake.ClientSecret)

	jane := w.browser(t)
	jane.signIn("jane")
	onB := &browser{t: t, client: jane.client, base: strings.TrimSuffix(hookB, "/api/github/hook")}
	status, page := onB.get("/")
	if status != http.StatusOK || !strings.Contains(page, `<span class="who">jane</span>`) || strings.Contains(page, sha[:7]) {
		t.Fatalf("replica B with A's cookie: %d\n%s", status, page)
	}

	// jane deploys through A's dashboard; B shows it.
	_, page = jane.get("/app/staging/frontend")
	if !strings.Contains(page, "Not found") {
		t.Fatalf("nothing is released yet, the app page is not found:\n%s", page)
	}
	w.comment(t, 1, "jane", "/deploy staging", "")
	w.reply(t, 1, 1)
	waitFor(t, func() bool { _, page = jane.get("/app/staging/frontend"); return strings.Contains(page, "Running now") })
	form := formOf(t, page, "/actions/lock", "reason")
	if status, result := jane.post("/actions/lock", form); status != http.StatusOK {
		t.Fatalf("lock on A: %d\n%s", status, result)
	}
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		_, page = onB.get("/?fragment=live")
		if strings.Contains(page, sha[:7]) && strings.Contains(page, "🔒 jane") {
			t.Logf("replica B shows the release and the lock %s after the lock", time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("replica B does not show what A did within 5 s:\n%s", page)
}
