package dashboard

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/auger-dev/auger/agent"
)

// The dashboard's caches are dropped by what tells Auger that something changed: a
// webhook GitHub delivered (a check run or suite of a commit, a push, a comment) and an
// agent's report. Each replica hears the webhooks the load balancer gives it and the
// reports of its agents; what it does not hear, its short cache times out.

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// teeBody reads a request's body (the caller has bounded it) and gives next a copy;
// a read that failed (a body over the limit) fails the same way for next.
func teeBody(r *http.Request) []byte {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), failingReader{err}))
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// webhookFacts is what of a webhook payload names a commit.
type webhookFacts struct {
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	CheckRun *struct {
		HeadSHA string `json:"head_sha"`
	} `json:"check_run"`
	CheckSuite *struct {
		HeadSHA string `json:"head_sha"`
	} `json:"check_suite"`
	After string `json:"after"`
}

// Webhooks wraps the webhook endpoint: a delivery the endpoint accepted (so its
// signature was good) drops what the dashboard cached about its commit.
func (d *Dashboard) Webhooks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := teeBody(r)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status >= 300 || body == nil {
			return
		}
		var facts webhookFacts
		if json.Unmarshal(body, &facts) != nil || facts.Repository.FullName == "" {
			return
		}
		sha := facts.After
		switch {
		case facts.CheckRun != nil:
			sha = facts.CheckRun.HeadSHA
		case facts.CheckSuite != nil:
			sha = facts.CheckSuite.HeadSHA
		}
		d.read.invalidate(facts.Repository.FullName, sha, false)
	})
}

// Reports wraps the agents' report endpoint: a report it took drops the check runs of
// the releases it is about, so their cells show the new state at once.
func (d *Dashboard) Reports(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > agent.MaxReportBytes {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, agent.MaxReportBytes)
		body := teeBody(r)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status >= 300 || body == nil {
			return
		}
		report, err := agent.DecodeReport(body)
		if err != nil {
			return
		}
		for _, s := range report.Releases {
			d.read.invalidate(s.Repository, s.SHA, false)
		}
	})
}
