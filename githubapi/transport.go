package githubapi

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// TransportOptions tune how GitHub calls survive GitHub's faults and limits.
type TransportOptions struct {
	// Retries is how many times a call is tried again (default 4).
	Retries int
	// MaxWait bounds one wait: for a Retry-After, or for a primary rate limit's reset
	// (default 60 s); a longer wait fails the call with GitHub's rate-limit error.
	MaxWait time.Duration
	// TimeUnit is the second of GitHub's limits (default time.Second): the requests that
	// create or change things (POST, PATCH, PUT, DELETE) go one at a time per
	// installation, one TimeUnit apart at least, at most 80 in 60 units and 500 in 3600,
	// and a Retry-After of n waits n units. Tests and benchmarks shrink it to run GitHub's
	// hour in seconds.
	TimeUnit time.Duration
	// AttemptTimeout bounds one attempt, from the request sent to the answer's body read
	// (default 30 s). It does not count the wait for the pacer, which a busy installation
	// makes long: the caller's context bounds that.
	AttemptTimeout time.Duration
}

// Transport wraps next with retries and pacing for one installation's GitHub calls:
//   - a request that reads or replaces (GET, HEAD, PUT, PATCH, DELETE) is retried on
//     5xx, timeouts and connection errors, with exponential backoff and jitter;
//   - any request is retried after a 429 or a 403 secondary rate limit (GitHub did not
//     process it), waiting for Retry-After, and after a primary rate limit, waiting for
//     its reset, when that is near enough;
//   - a request that creates or changes (POST, PATCH, PUT, DELETE) waits for its turn in
//     the installation's pacer, which follows GitHub's secondary limits (one at a time,
//     a second apart, 80 a minute, 500 an hour) and lets the request a person waits for
//     go first (WithPriority); an acknowledgement has a lane of its own (see pacer);
//   - a request that creates (POST) is never repeated after a 5xx or a timeout, because
//     it may have been done: the use cases look for what they created (by marker or
//     external id) before creating again.
func Transport(next http.RoundTripper, opts TransportOptions) http.RoundTripper {
	if opts.Retries == 0 {
		opts.Retries = 4
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = time.Minute
	}
	if opts.TimeUnit == 0 {
		opts.TimeUnit = time.Second
	}
	if opts.AttemptTimeout == 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: attemptTimeout{next: next, timeout: opts.AttemptTimeout}}
	c.Logger = nil
	c.RetryMax = opts.Retries
	c.RetryWaitMin, c.RetryWaitMax = 250*time.Millisecond, opts.MaxWait
	c.CheckRetry = checkRetry(opts.MaxWait)
	c.Backoff = backoff(opts.MaxWait, opts.TimeUnit)
	// After the last attempt, hand GitHub's answer to go-github, whose errors say what
	// happened (rate limit, abuse detection, the status and message).
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	retrying := &retryablehttp.RoundTripper{Client: c}
	pace := newPacer(opts.TimeUnit)
	return roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			release, err := pace.acquire(r.Context(), priorityOf(r.Context()))
			if err != nil {
				return nil, err
			}
			defer release()
		}
		ctx := context.WithValue(r.Context(), methodKey{}, r.Method)
		return retrying.RoundTrip(r.WithContext(ctx))
	})
}

// attemptTimeout gives each attempt its own deadline, kept until the body is closed.
type attemptTimeout struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (a attemptTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	resp, err := a.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// methodKey carries the request's method to the retry policy, which is not given the
// request when a call fails before any response.
type methodKey struct{}

func creates(ctx context.Context) bool {
	m, _ := ctx.Value(methodKey{}).(string)
	return m == http.MethodPost
}

func checkRetry(maxWait time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil || resp == nil {
			// A POST that failed may still have been done.
			return !creates(ctx), nil
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			return true, nil
		case resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != "":
			// GitHub's secondary rate limit: the request was not processed.
			return true, nil
		case primaryLimited(resp):
			return resetIn(resp) <= maxWait, nil
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
			return !creates(ctx), nil
		}
		return false, nil
	}
}

// primaryLimited tells a primary rate limit: the installation's hourly budget is spent.
func primaryLimited(resp *http.Response) bool {
	return (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) &&
		resp.Header.Get("X-RateLimit-Remaining") == "0"
}

func resetIn(resp *http.Response) time.Duration {
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Hour
	}
	return time.Until(time.Unix(reset, 0)) + time.Second
}

func backoff(maxWait, unit time.Duration) retryablehttp.Backoff {
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				return min2(time.Duration(s)*unit, maxWait)
			}
			if primaryLimited(resp) {
				return min2(resetIn(resp), maxWait)
			}
		}
		wait := retryablehttp.DefaultBackoff(min, max, attempt, resp)
		// Full jitter, so replicas retrying together spread out.
		return time.Duration(rand.Int64N(int64(wait)) + 1)
	}
}

func min2(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
