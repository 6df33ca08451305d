package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cenkalti/backoff/v4"
)

// Kind is what happened to a release.
type Kind string

// The kinds of Event.
const (
	// ReleaseStarted means a release commit landed in the gitops repository.
	ReleaseStarted Kind = "release.started"
	// ReleaseLive means the agent reports the release available.
	ReleaseLive Kind = "release.live"
	// ReleaseFailed means the rollout failed; Event.Reason says why.
	ReleaseFailed Kind = "release.failed"
	// RolledBack means the app was rolled back; Event.Reason names the target.
	RolledBack Kind = "release.rolledback"
	// CleanedUp means a preview app was deleted.
	CleanedUp Kind = "release.cleanedup"
)

// Event is what happened to one app in one environment. Every field but Kind, Env and
// App is optional. The JSON names are the generic webhook's wire format: keep them
// stable.
type Event struct {
	Kind       Kind   `json:"kind"`
	Env        string `json:"env"`
	App        string `json:"app"`
	Repository string `json:"repository,omitempty"` // owner/name
	SHA        string `json:"sha,omitempty"`
	Artifact   string `json:"artifact,omitempty"`
	// Actor is who triggered it: a GitHub login, or "policy" for policies.
	Actor string `json:"actor,omitempty"`
	// Reason is the failure reason of ReleaseFailed or the target of RolledBack.
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time,omitzero"`

	PullRequestURL  string `json:"pullRequestURL,omitempty"`
	CommitURL       string `json:"commitURL,omitempty"`
	GitopsCommitURL string `json:"gitopsCommitURL,omitempty"`
	CheckRunURL     string `json:"checkRunURL,omitempty"`
	EnvironmentURL  string `json:"environmentURL,omitempty"`
}

// Notifier sends events to one destination.
type Notifier interface {
	// Notify delivers e in one attempt. Retrying is the Dispatcher's job: it retries a
	// *StatusError with status 429 or 5xx and a *url.Error (a network failure), and
	// nothing else. Errors must not contain secrets such as the webhook URL.
	Notify(ctx context.Context, e Event) error
	// String names the destination without secrets, for logs: "slack(hooks.slack.com)".
	String() string
}

// StatusError is returned by Notify when the destination answers with a status other
// than 2xx.
type StatusError struct {
	Destination string // as the Notifier's String: no secrets
	StatusCode  int
	// RetryAfter is the wait the destination asked for in its Retry-After header, or zero.
	RetryAfter time.Duration
	// Body is the start of the response body, on one line: Slack explains itself there
	// ("invalid_blocks", "no_service").
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", e.Destination, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// DefaultTimeout bounds one delivery to one destination, retries included, when
// NewDispatcher is given no timeout.
const DefaultTimeout = 30 * time.Second

// Delivery limits: a notification is worth a few seconds, not a queue.
const (
	maxConcurrentSends = 8
	maxAttempts        = 3
	initialBackoff     = 200 * time.Millisecond
	maxBackoff         = time.Second
	maxRetryAfter      = 5 * time.Second
)

// Dispatcher sends events to the notifiers of their environment in the background.
// At most 8 sends run at once; the others wait their turn, and their timeout starts when
// they run. Its methods are safe for concurrent use; a nil *Dispatcher drops every event.
type Dispatcher struct {
	byEnv   map[string][]Notifier
	logf    func(format string, args ...any)
	timeout time.Duration
	sem     chan struct{} // bounds the sends running at once
	retry   retryPolicy

	mu       sync.Mutex
	inFlight int
	idle     chan struct{} // closed while inFlight is 0
}

// NewDispatcher returns a Dispatcher sending the events of each environment to its
// notifiers. logf receives one line per delivery that failed for good, naming the
// destination by its String; nil discards them. timeout bounds each delivery to one
// destination, retries included; zero means DefaultTimeout.
func NewDispatcher(byEnv map[string][]Notifier, logf func(format string, args ...any), timeout time.Duration) *Dispatcher {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &Dispatcher{
		byEnv:   make(map[string][]Notifier, len(byEnv)),
		logf:    logf,
		timeout: timeout,
		sem:     make(chan struct{}, maxConcurrentSends),
		retry: retryPolicy{
			attempts:      maxAttempts,
			initial:       initialBackoff,
			max:           maxBackoff,
			maxRetryAfter: maxRetryAfter,
		},
		idle: make(chan struct{}),
	}
	close(d.idle)
	for env, notifiers := range byEnv {
		for _, n := range notifiers {
			if n != nil {
				d.byEnv[env] = append(d.byEnv[env], n)
			}
		}
	}
	return d
}

// Notify sends e to every notifier of e.Env in the background and returns at once.
// Events of environments without notifiers are dropped. A zero e.Time is set to now.
func (d *Dispatcher) Notify(e Event) {
	if d == nil || len(d.byEnv[e.Env]) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	for _, n := range d.byEnv[e.Env] {
		d.begin()
		go func() {
			defer d.end()
			d.send(n, e)
		}()
	}
}

// Wait waits until no send is in flight, or returns ctx's error when it ends first;
// the sends still end within their timeout. Use it at shutdown, after the last Notify.
func (d *Dispatcher) Wait(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for notifications: %w", ctx.Err())
	}
}

func (d *Dispatcher) begin() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inFlight == 0 {
		d.idle = make(chan struct{})
	}
	d.inFlight++
}

func (d *Dispatcher) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	if d.inFlight == 0 {
		close(d.idle)
	}
}

// send delivers e to n, retrying, and logs a failure.
func (d *Dispatcher) send(n Notifier, e Event) {
	d.sem <- struct{}{}
	defer func() { <-d.sem }()
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	attempts, err := d.retry.do(ctx, func(ctx context.Context) error { return n.Notify(ctx, e) })
	if err == nil {
		return
	}
	// Our notifiers' errors start with their destination; others' might not.
	dest := n.String()
	if msg := err.Error(); !strings.HasPrefix(msg, dest) {
		err = fmt.Errorf("%s: %w", dest, err)
	}
	d.logf("notify: %s of %s in %s not delivered after %d attempt(s): %v", e.Kind, e.App, e.Env, attempts, err)
}

// retryPolicy retries a delivery with exponential backoff.
type retryPolicy struct {
	attempts      int
	initial, max  time.Duration
	maxRetryAfter time.Duration // longest Retry-After honoured; longer waits are cut to it
}

// do calls send until it succeeds, fails for good, runs out of attempts or ctx ends, and
// returns the attempts made and the last error of send.
func (p retryPolicy) do(ctx context.Context, send func(context.Context) error) (attempts int, err error) {
	b := &retryAfterBackOff{BackOff: backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.initial),
		backoff.WithMaxInterval(p.max),
		backoff.WithMultiplier(2),
		backoff.WithMaxElapsedTime(0), // ctx bounds the delivery
	)}
	var last error
	op := func() error {
		attempts++
		last = send(ctx)
		if last == nil {
			return nil
		}
		if !retryable(last) {
			return backoff.Permanent(last)
		}
		var status *StatusError
		if errors.As(last, &status) && status.RetryAfter > 0 {
			wait := min(status.RetryAfter, p.maxRetryAfter)
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return backoff.Permanent(last) // no time left to wait as asked
			}
			b.next = wait
		}
		return last
	}
	policy := backoff.WithContext(backoff.WithMaxRetries(b, uint64(max(p.attempts-1, 0))), ctx)
	if err := backoff.Retry(op, policy); err != nil {
		// The last error says more than the context's when the deadline cut a wait short.
		return attempts, last
	}
	return attempts, nil
}

// retryAfterBackOff waits as long as the destination asked, once, instead of the
// exponential interval.
type retryAfterBackOff struct {
	backoff.BackOff
	next time.Duration
}

func (b *retryAfterBackOff) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d != backoff.Stop && b.next > 0 {
		d = b.next
	}
	b.next = 0
	return d
}

// retryable tells whether another attempt may succeed where err failed.
func retryable(err error) bool {
	var status *StatusError
	if errors.As(err, &status) {
		return status.StatusCode == http.StatusTooManyRequests || status.StatusCode >= 500
	}
	var network *url.Error
	return errors.As(err, &network)
}

const (
	// maxErrorBody is how much of an error response ends up in a StatusError.
	maxErrorBody = 200
	// maxDrain is how much of a response is read to reuse the connection.
	maxDrain = 64 << 10
)

// endpoint is the HTTP destination of the Slack and webhook notifiers.
type endpoint struct {
	name   string // "slack", "webhook"
	url    string // secret: never in logs or errors
	host   string
	err    error // why url cannot be used, without the URL
	client *http.Client
	// secrets are the parts of url a response may echo, as an Express 404 page does.
	secrets []string
}

func newEndpoint(name, rawURL string, client *http.Client) endpoint {
	if client == nil {
		client = http.DefaultClient
	}
	ep := endpoint{name: name, url: rawURL, client: client}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Neither the URL nor the parse error (which quotes it) may be shown.
		ep.err = errors.New("URL is not an absolute http or https URL")
		return ep
	}
	ep.host = u.Host
	for _, secret := range []string{rawURL, u.EscapedPath(), u.Path, u.RawQuery} {
		if len(secret) > 1 { // "/" is no secret
			ep.secrets = append(ep.secrets, secret)
		}
	}
	return ep
}

func (ep endpoint) String() string {
	if ep.host == "" {
		return ep.name + "(invalid URL)"
	}
	return ep.name + "(" + ep.host + ")"
}

// post sends body in one request and returns a *StatusError for a non-2xx answer or a
// *url.Error, naming the host only, for a network failure.
func (ep endpoint) post(ctx context.Context, body []byte, header http.Header) error {
	if ep.err != nil {
		return fmt.Errorf("%s: %w", ep, ep.err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", ep, ep.redact(err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ep.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", ep, ep.redact(err))
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) //nolint:errcheck // best effort, to reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &StatusError{
		Destination: ep.String(),
		StatusCode:  resp.StatusCode,
		RetryAfter:  parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Body:        ep.scrub(oneLine(string(start))),
	}
}

// redact replaces the URL quoted by a *url.Error with the host, keeping the type that
// marks network failures as retryable.
func (ep endpoint) redact(err error) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err
	}
	return &url.Error{Op: uerr.Op, URL: ep.host, Err: uerr.Err}
}

// scrub replaces what s quotes of the URL.
func (ep endpoint) scrub(s string) string {
	for _, secret := range ep.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		const day = 24 * 60 * 60 // any cap will do: this only avoids overflowing
		return time.Duration(min(max(secs, 0), day)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// oneLine collapses whitespace and drops control characters, for logs.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
