package githubfake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers"
)

const (
	// appID and appSlug identify the App the fake plays Auger as.
	appID   = 1
	appSlug = "auger"
	// workflowAppSlug is the App behind a workflow run's GITHUB_TOKEN.
	workflowAppSlug = "github-actions"
	// botLogin is the user GitHub shows as the author of what the App writes.
	botLogin = appSlug + "[bot]"
	// maxBody is GitHub's request body limit.
	maxBody = 25 << 20
)

// Fake is a stateful GitHub REST API for one test. Its zero value is not usable; call New.
type Fake struct {
	// URL is the API base, with a trailing slash (http://127.0.0.1:PORT/): pass it as
	// go-githubapp's V3APIURL or go-github's BaseURL.
	URL string

	t      testing.TB
	spec   *spec
	server *httptest.Server
	key    *rsa.PrivateKey
	keyPEM []byte

	mu            sync.Mutex
	middleware    []func(http.Handler) http.Handler
	nextID        int64
	installations map[int64]string // installation id → account login
	tokens        map[string]token
	repos         map[string]*Repo // lower-case "owner/name" → repo
	apps          map[string]int64 // slug of another App → its id
	ids           map[string]int64 // see idFor
	teams         map[string]map[string]string
	requests      []Request
	deliveries    []*delivery
	web           *oauthState // sign-in and App setup (oauth.go)
}

// Request is one API request the fake received.
type Request struct {
	Method string
	// Path is the URL path, escaped as sent; Query the raw query string.
	Path  string
	Query string
	// OperationID names the GitHub operation ("checks/create"); empty for unknown routes.
	OperationID string
	// Installation is the installation whose token authenticated the request, or 0 (no
	// token, an unknown one, or the App's JWT).
	Installation int64
	// Status is the HTTP status of the answer.
	Status int
	Time   time.Time
}

// New starts a fake GitHub API that lives until the test ends, with the App (ID 1,
// slug "auger") and its RSA key. Requests that GitHub would reject as
// malformed, responses that break GitHub's description and unknown routes are
// reported through t.Errorf.
func New(t testing.TB) *Fake {
	t.Helper()
	sp, err := loadSpec()
	if err != nil {
		t.Fatalf("githubfake: %v", err)
	}
	key, err := appKey()
	if err != nil {
		t.Fatalf("githubfake: %v", err)
	}
	f := &Fake{
		t:             t,
		spec:          sp,
		key:           key,
		keyPEM:        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		nextID:        100000,
		installations: map[int64]string{},
		tokens:        map[string]token{},
		repos:         map[string]*Repo{},
		apps:          map[string]int64{},
		ids:           map[string]int64{},
		teams:         map[string]map[string]string{},
	}
	f.server = httptest.NewServer(f)
	f.URL = f.server.URL + "/"
	t.Cleanup(f.server.Close)
	return f
}

// appKey is the App's private key. Generating a 2048-bit key (GitHub's size) costs up
// to a second of CPU, so the fakes of one test binary share one; tokens and state are
// still per fake.
var appKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate App key: %w", err)
	}
	return key, nil
})

// AppID is the App's id, for Auger's configuration.
func (f *Fake) AppID() int64 { return appID }

// PrivateKeyPEM is the App's private key (PKCS#1 PEM), for Auger's configuration.
func (f *Fake) PrivateKeyPEM() []byte { return slices.Clone(f.keyPEM) }

// Use wraps every later API request in mw, outermost first. Middleware sees the request
// before validation and authentication, so it can answer in GitHub's place (to inject
// faults); what it answers itself is neither validated nor stored, only recorded.
func (f *Fake) Use(mw ...func(http.Handler) http.Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.middleware = append(f.middleware, mw...)
}

// Requests returns every request received so far, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Count is the number of requests received so far for an operation ("checks/create").
func (f *Fake) Count(operationID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.OperationID == operationID {
			n++
		}
	}
	return n
}

// ServeHTTP records the request and runs it through the middleware to the API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	route, params, routeErr := f.spec.router.FindRoute(r)
	opID := ""
	if routeErr == nil {
		opID = route.Operation.OperationID
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, rawPrefix) {
			f.serveRaw(w, r)
			return
		}
		if webPath(r.URL.Path) {
			f.serveWeb(w, r)
			return
		}
		f.serveAPI(w, r, route, params, routeErr)
	})
	f.mu.Lock()
	mws := slices.Clone(f.middleware)
	f.mu.Unlock()
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	// Record as soon as the status is known, before the client can see the answer, so
	// a test that asserts on Requests right after a call finds it.
	sw := &statusWriter{ResponseWriter: w, record: func(status int) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, Request{
			Method:       r.Method,
			Path:         r.URL.EscapedPath(),
			Query:        r.URL.RawQuery,
			OperationID:  opID,
			Installation: f.tokenInstallation(r),
			Status:       status,
			Time:         received,
		})
	}}
	h.ServeHTTP(sw, r)
	sw.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
}

// statusWriter reports the status a handler writes, once.
type statusWriter struct {
	http.ResponseWriter
	record  func(status int)
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.written {
		return
	}
	w.written = true
	w.record(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// call is one API request on its way through a handler.
type call struct {
	f     *Fake
	r     *http.Request
	route *routers.Route
	// params are the path parameters, unescaped.
	params map[string]string
	query  url.Values
	body   []byte
	// repo is the repository of /repos/{owner}/{repo}/... operations, once authorized.
	repo *Repo
	// installation authenticated the request (0 for the App's JWT).
	installation int64
	// actor is the App acting when it is not Auger (a workflow token's github-actions).
	actor string
	// header collects response headers (Link, Location) while the handler runs.
	header http.Header
}

// app is the slug of the App making the call: Auger unless a workflow token is used.
func (c *call) app() string {
	if c.actor != "" {
		return c.actor
	}
	return appSlug
}

// reply is what a handler answers: a status and a JSON body (nil for none).
type reply struct {
	status int
	body   any
	// after runs once the fake's lock is released, before the answer is written
	// (redelivering a webhook must not hold the lock while Auger calls back).
	after func()
}

// serveAPI validates the request, authorizes it, runs its handler and validates the
// answer before sending it.
func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request, route *routers.Route, params map[string]string, routeErr error) {
	if routeErr != nil {
		f.t.Errorf("githubfake: unvendored GitHub operation %s %s (%v)", r.Method, r.URL.EscapedPath(), routeErr)
		writeJSON(w, http.StatusNotFound, nil, basicError(http.StatusNotFound, "Not Found", docsURL(nil)))
		return
	}
	opID := route.Operation.OperationID
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, nil, basicError(http.StatusBadRequest, "Problems reading the body", docsURL(route)))
		return
	}
	if len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, nil, basicError(http.StatusRequestEntityTooLarge, "Request body too large", docsURL(route)))
		return
	}
	c := &call{
		f:      f,
		r:      r,
		route:  route,
		params: map[string]string{},
		query:  r.URL.Query(),
		body:   body,
		header: http.Header{},
	}
	for k, v := range params {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		c.params[k] = v
	}
	if nullBodyOperations[opID] && bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		c.body = nil
	}

	rep := f.serveCall(c, params)
	if rep.after != nil {
		rep.after()
	}
	f.respond(w, c, rep)
}

// serveCall answers c as GitHub does: credentials first, then the request's shape,
// then the operation itself.
func (f *Fake) serveCall(c *call, rawParams map[string]string) reply {
	opID := c.route.Operation.OperationID
	op, ok := operations()[opID]
	if !ok {
		// Vendored but not implemented: a gap in the fake, not in Auger.
		f.t.Errorf("githubfake: %s %s %s: operation is vendored but not implemented", opID, c.r.Method, c.r.URL.EscapedPath())
		return c.fail(http.StatusNotImplemented, "githubfake does not implement "+opID)
	}
	f.mu.Lock()
	rep, authorized := f.authorize(c, op.auth)
	f.mu.Unlock()
	if !authorized {
		return rep
	}
	if err := validateRequest(c.r.Context(), c.r, c.body, c.route, rawParams); err != nil {
		// Auger sent something GitHub would refuse: that is the test's failure.
		f.t.Errorf("githubfake: %s %s %s: request violates GitHub's description: %v", opID, c.r.Method, c.r.URL.EscapedPath(), err)
		if isParseError(err) {
			return c.fail(http.StatusBadRequest, "Problems parsing JSON")
		}
		return c.invalid("Invalid request.\n\n" + err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return op.handle(c)
}

// respond writes rep through a recorder, validates what was written against the
// description and then sends it.
func (f *Fake) respond(w http.ResponseWriter, c *call, rep reply) {
	rec := httptest.NewRecorder()
	for k, v := range c.header {
		rec.Header()[k] = v
	}
	rateLimitHeaders(rec.Header())
	writeJSON(rec, rep.status, nil, rep.body)
	res := rec.Result()
	data := rec.Body.Bytes()
	if err := validateResponse(c.r.Context(), c.r, c.route, c.params, res.StatusCode, res.Header, data); err != nil {
		f.t.Errorf("githubfake: %s %s %s: the fake's %d response violates GitHub's description: %v", c.route.Operation.OperationID, c.r.Method, c.r.URL.EscapedPath(), res.StatusCode, err)
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(data)
}

// rateLimitHeaders are the headers GitHub sends on every answer; go-github parses them.
func rateLimitHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Used", "1")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
}

// writeJSON writes status and, unless body is nil, body as JSON.
func writeJSON(w http.ResponseWriter, status int, header http.Header, body any) {
	for k, v := range header {
		w.Header()[k] = v
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		// Bodies are maps and slices the fake builds; this is a bug in the fake.
		http.Error(w, fmt.Sprintf("githubfake: encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func basicError(status int, message, docs string) map[string]any {
	return map[string]any{"message": message, "documentation_url": docs, "status": strconv.Itoa(status)}
}

// okJSON, created and the error helpers build replies.
func okJSON(body any) reply  { return reply{status: http.StatusOK, body: body} }
func created(body any) reply { return reply{status: http.StatusCreated, body: body} }

// fail answers with GitHub's basic error body.
func (c *call) fail(status int, message string) reply {
	return reply{status: status, body: basicError(status, message, docsURL(c.route))}
}

func (c *call) notFound() reply { return c.fail(http.StatusNotFound, "Not Found") }

// fieldError is one entry of a 422 answer's errors array.
type fieldError struct {
	Resource, Field, Code, Message string
}

// invalid answers 422 like GitHub's validation failures.
func (c *call) invalid(message string, errs ...fieldError) reply {
	body := map[string]any{"message": message, "documentation_url": docsURL(c.route), "status": "422"}
	if len(errs) > 0 {
		list := make([]any, 0, len(errs))
		for _, e := range errs {
			item := map[string]any{"code": e.Code}
			if e.Resource != "" {
				item["resource"] = e.Resource
			}
			if e.Field != "" {
				item["field"] = e.Field
			}
			if e.Message != "" {
				item["message"] = e.Message
			}
			list = append(list, item)
		}
		body["errors"] = list
	}
	return reply{status: http.StatusUnprocessableEntity, body: body}
}

// decode unmarshals the request body into v; an empty body leaves v alone.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return fmt.Errorf("decode %s body: %w", c.route.Operation.OperationID, err)
	}
	return nil
}

// intParam parses a numeric path parameter; the description already checked its type.
func (c *call) intParam(name string) int64 {
	n, _ := strconv.ParseInt(c.params[name], 10, 64)
	return n
}

// page slices a list of n items per the per_page and page query parameters, and sets
// GitHub's Link header when there is more than one page.
func (c *call) page(n int) (lo, hi int) {
	perPage := queryInt(c.query, "per_page", 30)
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page := max(queryInt(c.query, "page", 1), 1)
	last := max((n+perPage-1)/perPage, 1)
	lo = min((page-1)*perPage, n)
	hi = min(lo+perPage, n)
	if last > 1 {
		var links []string
		link := func(p int, rel string) {
			q := c.r.URL.Query()
			q.Set("page", strconv.Itoa(p))
			q.Set("per_page", strconv.Itoa(perPage))
			u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path, RawQuery: q.Encode()}
			links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
		}
		if page > 1 {
			link(page-1, "prev")
		}
		if page < last {
			link(page+1, "next")
			link(last, "last")
		}
		if page > 1 {
			link(1, "first")
		}
		c.header.Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

func queryInt(q url.Values, name string, def int) int {
	if v := q.Get(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// newID returns a fresh id; ids are unique across kinds, which makes mix-ups visible.
func (f *Fake) newID() int64 {
	f.nextID++
	return f.nextID
}

// now is the fake's clock, at GitHub's one-second resolution.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// ts formats a time as GitHub does; the zero time is null.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// orNil turns an empty string into JSON null, for GitHub's nullable strings.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
