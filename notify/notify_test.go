package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretPath is the part of a webhook URL that must never be logged.
const secretPath = "/services/T000/B000/s3cr3t"

// response is what a receiver answers to one request.
type response struct {
	status     int
	retryAfter string
	body       string
	drop       bool // close the connection without answering
}

type request struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a destination's stand-in: it records requests and answers them with
// its responses in turn, repeating the last one.
type receiver struct {
	srv       *httptest.Server
	url       string // with the secret path
	responses []response
	block     chan struct{} // if set, requests wait for it to close or their client to give up

	mu     sync.Mutex
	reqs   []request
	active int
	peak   int
}

func newReceiver(t *testing.T, responses ...response) *receiver {
	t.Helper()
	r := &receiver{responses: responses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.url = r.srv.URL + secretPath
	t.Cleanup(r.srv.Close)
	return r
}

// newBlockingReceiver answers 200 once unblocked; until then requests hang.
func newBlockingReceiver(t *testing.T) *receiver {
	r := newReceiver(t)
	r.block = make(chan struct{})
	t.Cleanup(r.unblock) // runs before srv.Close, which waits for the handlers
	return r
}

func (r *receiver) unblock() {
	select {
	case <-r.block:
	default:
		close(r.block)
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	// Other processes' tests may still call a server that used this port before.
	if req.Method != http.MethodPost || req.URL.Path != secretPath || req.Header.Get("User-Agent") != "auger" {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, request{at: time.Now(), header: req.Header.Clone(), body: body})
	r.active++
	r.peak = max(r.peak, r.active)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active--
		r.mu.Unlock()
	}()

	if r.block != nil {
		select {
		case <-r.block:
		case <-req.Context().Done():
			return
		}
	}
	resp := response{status: http.StatusOK, body: "ok"}
	if len(r.responses) > 0 {
		resp = r.responses[min(n, len(r.responses)-1)]
	}
	if resp.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if resp.retryAfter != "" {
		w.Header().Set("Retry-After", resp.retryAfter)
	}
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func (r *receiver) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// logs captures a Dispatcher's log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// assertNoSecrets fails if a log line contains a webhook URL or its secret path.
func (l *logs) assertNoSecrets(t *testing.T, urls ...string) {
	t.Helper()
	for _, line := range l.all() {
		for _, u := range urls {
			if strings.Contains(line, u) {
				t.Errorf("log line contains the URL %q: %s", u, line)
			}
		}
		if strings.Contains(line, "s3cr3t") {
			t.Errorf("log line contains the secret: %s", line)
		}
	}
}

func waitFor(ctx context.Context, t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

const sha = "deae5db2b6a54e0f8a4fb3c1e5a0ed7a2f3c9b11"

func releaseEvent(kind Kind) Event {
	return Event{
		Kind:            kind,
		Env:             "staging",
		App:             "frontend",
		Repository:      "acme/frontend",
		SHA:             sha,
		Actor:           "jane",
		Time:            time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		PullRequestURL:  "https://github.com/acme/frontend/pull/42",
		CommitURL:       "https://github.com/acme/frontend/commit/" + sha,
		GitopsCommitURL: "https://github.com/acme/gitops/commit/0a1b2c3",
		CheckRunURL:     "https://github.com/acme/frontend/runs/7",
	}
}

const allLinks = "<https://github.com/acme/frontend/pull/42|PR> · " +
	"<https://github.com/acme/frontend/commit/" + sha + "|commit> · " +
	"<https://github.com/acme/gitops/commit/0a1b2c3|gitops commit> · " +
	"<https://github.com/acme/frontend/runs/7|check>"

func TestSlack(t *testing.T) {
	tests := map[string]struct {
		event     func(e *Event)
		kind      Kind
		wantText  string
		wantLinks string // "" for no context block
	}{
		"started": {
			kind:      ReleaseStarted,
			wantText:  "🚀 *frontend* `deae5db` released to *staging* by jane",
			wantLinks: allLinks,
		},
		"live": {
			kind:      ReleaseLive,
			wantText:  "🟢 *frontend* `deae5db` is live in *staging*",
			wantLinks: allLinks,
		},
		"failed": {
			kind: ReleaseFailed,
			event: func(e *Event) {
				e.Reason = "CrashLoop"
				e.Message = "Back-off restarting failed container\ncontainer logs follow"
			},
			wantText:  "🔴 *frontend* `deae5db` failed in *staging*: CrashLoop — Back-off restarting failed container",
			wantLinks: allLinks,
		},
		"rolled back by a policy": {
			kind:      RolledBack,
			event:     func(e *Event) { e.Reason, e.Actor = "1a2b3c4", "policy" },
			wantText:  "⏪ *frontend* `deae5db` rolled back in *staging* to 1a2b3c4 by policy",
			wantLinks: allLinks,
		},
		"cleaned up": {
			kind: CleanedUp,
			event: func(e *Event) {
				*e = Event{Kind: CleanedUp, Env: "preview", App: "frontend-feature-x", PullRequestURL: e.PullRequestURL}
			},
			wantText:  "🧹 preview *frontend-feature-x* removed from *preview*",
			wantLinks: "<https://github.com/acme/frontend/pull/42|PR>",
		},
		"artifact when no sha, environment link": {
			kind: ReleaseLive,
			event: func(e *Event) {
				*e = Event{Kind: ReleaseLive, Env: "prod", App: "api", Artifact: "ghcr.io/acme/api:1.2.3", EnvironmentURL: "https://api.acme.dev"}
			},
			wantText:  "🟢 *api* `ghcr.io/acme/api:1.2.3` is live in *prod*",
			wantLinks: "<https://api.acme.dev|environment>",
		},
		"user text is escaped": {
			kind: ReleaseFailed,
			event: func(e *Event) {
				e.App, e.Env = "a<b>", "s&t"
				e.Reason = "<!channel>"
				e.Message = "see <https://evil.example|the fix> & more"
				e.PullRequestURL = "https://example.com/pr?a=1&b=<2>|x"
				e.CommitURL, e.GitopsCommitURL, e.CheckRunURL = "", "", ""
			},
			wantText:  "🔴 *a&lt;b&gt;* `deae5db` failed in *s&amp;t*: &lt;!channel&gt; — see &lt;https://evil.example|the fix&gt; &amp; more",
			wantLinks: "<https://example.com/pr?a=1&amp;b=&lt;2&gt;%7Cx|PR>",
		},
		"links that are not http are dropped": {
			kind: ReleaseLive,
			event: func(e *Event) {
				e.PullRequestURL, e.CommitURL, e.GitopsCommitURL, e.CheckRunURL = "javascript:alert(1)", "/relative", "github.com/x", ""
			},
			wantText: "🟢 *frontend* `deae5db` is live in *staging*",
		},
		"long message is cut": {
			kind:      ReleaseFailed,
			event:     func(e *Event) { e.Message = strings.Repeat("x", 1000) },
			wantText:  "🔴 *frontend* `deae5db` failed in *staging* — " + strings.Repeat("x", maxSlackMessage-1) + "…",
			wantLinks: allLinks,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			e := releaseEvent(tc.kind)
			if tc.event != nil {
				tc.event(&e)
			}
			if err := NewSlack(rcv.url, nil).Notify(t.Context(), e); err != nil {
				t.Fatal(err)
			}

			reqs := rcv.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			if ct := reqs[0].header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got slackMessage
			if err := json.Unmarshal(reqs[0].body, &got); err != nil {
				t.Fatalf("payload %s: %v", reqs[0].body, err)
			}
			want := slackMessage{
				Text:   tc.wantText,
				Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: tc.wantText}}},
			}
			if tc.wantLinks != "" {
				want.Blocks = append(want.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: tc.wantLinks}}})
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("payload\n got %s\nwant %s", reqs[0].body, mustJSON(t, want))
			}
		})
	}
}

// TestSlackWireFormat pins the JSON Slack receives.
func TestSlackWireFormat(t *testing.T) {
	rcv := newReceiver(t)
	e := Event{Kind: ReleaseLive, Env: "staging", App: "frontend", SHA: sha, CommitURL: "https://github.com/acme/frontend/commit/" + sha}
	if err := NewSlack(rcv.url, nil).Notify(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	want := `{"text":"🟢 *frontend* ` + "`deae5db`" + ` is live in *staging*","blocks":[` +
		`{"type":"section","text":{"type":"mrkdwn","text":"🟢 *frontend* ` + "`deae5db`" + ` is live in *staging*"}},` +
		`{"type":"context","elements":[{"type":"mrkdwn","text":"\u003chttps://github.com/acme/frontend/commit/` + sha + `|commit\u003e"}]}]}`
	if got := string(rcv.requests()[0].body); got != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
}

func TestWebhook(t *testing.T) {
	tests := map[string]struct {
		event Event
		want  string
	}{
		"every field": {
			event: func() Event {
				e := releaseEvent(ReleaseFailed)
				e.Artifact, e.Reason, e.Message, e.EnvironmentURL = "ghcr.io/acme/frontend:1.2.3", "CrashLoop", "Back-off <restarting>", "https://staging.acme.dev"
				return e
			}(),
			want: `{"kind":"release.failed","env":"staging","app":"frontend","repository":"acme/frontend",` +
				`"sha":"` + sha + `","artifact":"ghcr.io/acme/frontend:1.2.3","actor":"jane","reason":"CrashLoop",` +
				`"message":"Back-off \u003crestarting\u003e","time":"2024-05-01T12:00:00Z",` +
				`"pullRequestURL":"https://github.com/acme/frontend/pull/42",` +
				`"commitURL":"https://github.com/acme/frontend/commit/` + sha + `",` +
				`"gitopsCommitURL":"https://github.com/acme/gitops/commit/0a1b2c3",` +
				`"checkRunURL":"https://github.com/acme/frontend/runs/7",` +
				`"environmentURL":"https://staging.acme.dev"}`,
		},
		"required fields only": {
			event: Event{Kind: CleanedUp, Env: "preview", App: "frontend-feature-x"},
			want:  `{"kind":"release.cleanedup","env":"preview","app":"frontend-feature-x"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			if err := NewWebhook(rcv.url, nil).Notify(t.Context(), tc.event); err != nil {
				t.Fatal(err)
			}
			reqs := rcv.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			if got := string(reqs[0].body); got != tc.want {
				t.Errorf("payload\n got %s\nwant %s", got, tc.want)
			}
			for header, want := range map[string]string{
				"Content-Type":  "application/json",
				"User-Agent":    "auger",
				"X-Auger-Event": string(tc.event.Kind),
			} {
				if got := reqs[0].header.Get(header); got != want {
					t.Errorf("%s = %q, want %q", header, got, want)
				}
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := map[string]struct {
		n    Notifier
		want string
	}{
		"slack":               {NewSlack("https://hooks.slack.com/services/T0/B0/s3cr3t", nil), "slack(hooks.slack.com)"},
		"webhook with port":   {NewWebhook("http://user:s3cr3t@hooks.example:8080/s3cr3t", nil), "webhook(hooks.example:8080)"},
		"webhook invalid URL": {NewWebhook("hooks.example/s3cr3t", nil), "webhook(invalid URL)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.n.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInvalidURL(t *testing.T) {
	for _, u := range []string{
		"",
		"ftp://hooks.example/s3cr3t",
		"hooks.slack.com/services/s3cr3t",
		"https:///s3cr3t",
		"http://hooks.example/%zzs3cr3t",
	} {
		t.Run(u, func(t *testing.T) {
			err := NewSlack(u, nil).Notify(t.Context(), releaseEvent(ReleaseLive))
			if err == nil {
				t.Fatal("Notify succeeded")
			}
			want := "slack(invalid URL): URL is not an absolute http or https URL"
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if retryable(err) {
				t.Error("error is retryable")
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	rcv := newReceiver(t, response{status: http.StatusNotFound, body: "no_service\n"})
	err := NewSlack(rcv.url, nil).Notify(t.Context(), releaseEvent(ReleaseLive))
	var status *StatusError
	if !errors.As(err, &status) {
		t.Fatalf("error %v (%T), want a *StatusError", err, err)
	}
	want := "slack(" + rcv.host() + "): 404 Not Found: no_service"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestDispatcherRetries(t *testing.T) {
	tests := map[string]struct {
		responses     []response
		maxRetryAfter time.Duration // zero for the default
		wantRequests  int
		wantLog       string // "" for none
		minGap        time.Duration
		maxGap        time.Duration // between the last two requests
	}{
		"503 twice, then ok": {
			responses:    []response{{status: 503}, {status: 503}, {status: 200}},
			wantRequests: 3,
		},
		"503 always": {
			responses:    []response{{status: 503, body: "down for\nmaintenance"}},
			wantRequests: 3,
			wantLog:      "notify: release.live of frontend in staging not delivered after 3 attempt(s): webhook(HOST): 503 Service Unavailable: down for maintenance",
		},
		"400 is not retried": {
			responses:    []response{{status: 400, body: "invalid_payload"}},
			wantRequests: 1,
			wantLog:      "notify: release.live of frontend in staging not delivered after 1 attempt(s): webhook(HOST): 400 Bad Request: invalid_payload",
		},
		"404 is not retried": {
			responses:    []response{{status: 404}, {status: 200}},
			wantRequests: 1,
			wantLog:      "notify: release.live of frontend in staging not delivered after 1 attempt(s): webhook(HOST): 404 Not Found",
		},
		"a body echoing the URL is scrubbed": {
			responses:    []response{{status: 404, body: "<pre>Cannot POST " + secretPath + "</pre>"}},
			wantRequests: 1,
			wantLog:      "notify: release.live of frontend in staging not delivered after 1 attempt(s): webhook(HOST): 404 Not Found: <pre>Cannot POST [redacted]</pre>",
		},
		"429 Retry-After is honoured": {
			responses:    []response{{status: 429, retryAfter: "1"}, {status: 200}},
			wantRequests: 2,
			minGap:       time.Second,
			maxGap:       3 * time.Second,
		},
		"429 Retry-After is capped": {
			responses:     []response{{status: 429, retryAfter: "3600"}, {status: 200}},
			maxRetryAfter: 300 * time.Millisecond,
			wantRequests:  2,
			minGap:        300 * time.Millisecond,
			maxGap:        3 * time.Second,
		},
		"dropped connections, then ok": {
			responses:    []response{{drop: true}, {drop: true}, {status: 200}},
			wantRequests: 3,
		},
		"dropped connections always": {
			responses:    []response{{drop: true}},
			wantRequests: 3,
			wantLog:      `notify: release.live of frontend in staging not delivered after 3 attempt(s): webhook(HOST): Post "HOST": EOF`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tc.responses...)
			var log logs
			d := NewDispatcher(map[string][]Notifier{"staging": {NewWebhook(rcv.url, nil)}}, log.logf, 10*time.Second)
			if tc.maxRetryAfter != 0 {
				d.retry.maxRetryAfter = tc.maxRetryAfter
			}
			d.Notify(releaseEvent(ReleaseLive))
			waitFor(t.Context(), t, d)

			reqs := rcv.requests()
			if len(reqs) != tc.wantRequests {
				t.Errorf("got %d requests, want %d", len(reqs), tc.wantRequests)
			}
			var want []string
			if tc.wantLog != "" {
				want = []string{strings.ReplaceAll(tc.wantLog, "HOST", rcv.host())}
			}
			if got := log.all(); !reflect.DeepEqual(got, want) {
				t.Errorf("logs\n got %q\nwant %q", got, want)
			}
			log.assertNoSecrets(t, rcv.url)
			if tc.minGap > 0 && len(reqs) >= 2 {
				gap := reqs[len(reqs)-1].at.Sub(reqs[len(reqs)-2].at)
				if gap < tc.minGap || gap > tc.maxGap {
					t.Errorf("retried after %v, want between %v and %v", gap, tc.minGap, tc.maxGap)
				}
			}
		})
	}
}

func TestDispatcherNeverBlocks(t *testing.T) {
	rcv := newBlockingReceiver(t)
	var log logs
	const timeout = 300 * time.Millisecond
	d := NewDispatcher(map[string][]Notifier{"staging": {NewSlack(rcv.url, nil)}}, log.logf, timeout)

	start := time.Now()
	d.Notify(releaseEvent(ReleaseStarted))
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("Notify took %v", took)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := d.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a hanging destination = %v, want a deadline error", err)
	}

	waitFor(t.Context(), t, d)
	if took := time.Since(start); took < timeout {
		t.Errorf("send ended after %v, before its timeout %v", took, timeout)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("got %d requests, want 1: no retry once the timeout has passed", n)
	}
	want := []string{`notify: release.started of frontend in staging not delivered after 1 attempt(s): slack(` +
		rcv.host() + `): Post "` + rcv.host() + `": context deadline exceeded`}
	if got := log.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("logs\n got %q\nwant %q", got, want)
	}
	log.assertNoSecrets(t, rcv.url)
}

func TestDispatcherBoundsConcurrency(t *testing.T) {
	rcv := newBlockingReceiver(t)
	d := NewDispatcher(map[string][]Notifier{"staging": {NewWebhook(rcv.url, nil)}}, t.Logf, 10*time.Second)
	const events = 20
	for range events {
		d.Notify(releaseEvent(ReleaseLive))
	}

	deadline := time.Now().Add(5 * time.Second)
	for len(rcv.requests()) < maxConcurrentSends && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a ninth send, if the bound did not hold
	if n := len(rcv.requests()); n != maxConcurrentSends {
		t.Errorf("%d sends in flight, want %d", n, maxConcurrentSends)
	}

	rcv.unblock()
	waitFor(t.Context(), t, d)
	if n := len(rcv.requests()); n != events {
		t.Errorf("got %d requests, want %d", n, events)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.peak > maxConcurrentSends {
		t.Errorf("%d requests at once, want at most %d", rcv.peak, maxConcurrentSends)
	}
}

func TestDispatcherRoutesByEnv(t *testing.T) {
	slackRcv, webhookRcv, prodRcv := newReceiver(t), newReceiver(t), newReceiver(t)
	var log logs
	d := NewDispatcher(map[string][]Notifier{
		"staging":    {NewSlack(slackRcv.url, nil), NewWebhook(webhookRcv.url, nil)},
		"production": {NewWebhook(prodRcv.url, nil)},
		"preview":    {},
	}, log.logf, time.Second)

	e := Event{Kind: ReleaseLive, Env: "staging", App: "frontend"}
	d.Notify(e)
	for _, env := range []string{"preview", "development", ""} {
		d.Notify(Event{Kind: ReleaseLive, Env: env, App: "frontend"})
	}
	waitFor(t.Context(), t, d)

	for name, tc := range map[string]struct {
		rcv  *receiver
		want int
	}{
		"staging slack":   {slackRcv, 1},
		"staging webhook": {webhookRcv, 1},
		"production":      {prodRcv, 0},
	} {
		if got := len(tc.rcv.requests()); got != tc.want {
			t.Errorf("%s got %d requests, want %d", name, got, tc.want)
		}
	}
	var got Event
	if err := json.Unmarshal(webhookRcv.requests()[0].body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Env != "staging" || got.Time.IsZero() {
		t.Errorf("webhook got %+v, want the staging event stamped with a time", got)
	}
	if lines := log.all(); len(lines) != 0 {
		t.Errorf("logs %q, want none", lines)
	}
}

func TestNilDispatcher(t *testing.T) {
	var d *Dispatcher
	d.Notify(releaseEvent(ReleaseLive))
	if err := d.Wait(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		header string
		want   time.Duration
	}{
		"absent":       {"", 0},
		"seconds":      {"2", 2 * time.Second},
		"negative":     {"-3", 0},
		"huge":         {"99999999999999999", 24 * time.Hour},
		"garbage":      {"soon", 0},
		"date":         {now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		"date in past": {now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := parseRetryAfter(tc.header, now); got != tc.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
