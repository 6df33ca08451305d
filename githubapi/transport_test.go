package githubapi_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auger-dev/auger/githubapi"
)

// answers serves the given statuses in turn (the last one from then on), with headers.
func answers(t *testing.T, headers http.Header, codes ...int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		code := codes[min(i, len(codes)-1)]
		if code != http.StatusOK {
			for k, v := range headers {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTransportRetryPolicy(t *testing.T) {
	soon := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	later := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	tests := map[string]struct {
		method  string
		headers http.Header
		codes   []int
		calls   int64
		final   int
	}{
		"read retried after 5xx":          {http.MethodGet, nil, []int{502, 503, 200}, 3, 200},
		"update retried after 5xx":        {http.MethodPatch, nil, []int{500, 200}, 2, 200},
		"create not repeated after 5xx":   {http.MethodPost, nil, []int{502, 200}, 1, 502},
		"create retried after 429":        {http.MethodPost, http.Header{"Retry-After": {"0"}}, []int{429, 200}, 2, 200},
		"secondary limit waits and retry": {http.MethodPost, http.Header{"Retry-After": {"0"}}, []int{403, 200}, 2, 200},
		"plain 403 is final":              {http.MethodGet, nil, []int{403, 200}, 1, 403},
		"primary limit reset now":         {http.MethodGet, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {soon}}, []int{403, 200}, 2, 200},
		"primary limit reset far":         {http.MethodGet, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {later}}, []int{403, 200}, 1, 403},
		"not found is final":              {http.MethodGet, nil, []int{404, 200}, 1, 404},
		"gives up after the retries":      {http.MethodGet, nil, []int{502}, 3, 502},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, calls := answers(t, tc.headers, tc.codes...)
			client := &http.Client{Transport: githubapi.Transport(http.DefaultTransport, githubapi.TransportOptions{Retries: 2, MaxWait: 5 * time.Second})}
			req, _ := http.NewRequest(tc.method, srv.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.final || calls.Load() != tc.calls {
				t.Errorf("status %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.final, tc.calls)
			}
		})
	}
}

func TestTransportPacesChanges(t *testing.T) {
	srv, calls := answers(t, nil, 200)
	client := &http.Client{Transport: githubapi.Transport(http.DefaultTransport, githubapi.TransportOptions{TimeUnit: 20 * time.Millisecond})}
	start := time.Now()
	for i := 0; i < 6; i++ {
		resp, err := client.Post(srv.URL, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// One at a time, a "second" (20 ms) apart: at least 100 ms.
	if d := time.Since(start); d < 100*time.Millisecond || calls.Load() != 6 {
		t.Errorf("6 changes took %v (%d calls); want them paced", d, calls.Load())
	}
	start = time.Now()
	for i := 0; i < 20; i++ {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("reads were paced: %v", d)
	}
}
