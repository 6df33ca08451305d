package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/app"
)

const testSecret = "webhook-secret-never-logged"

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testServer(t testing.TB, extraEnv ...string) (*app.Server, *app.Config, *syncBuffer) {
	t.Helper()
	env := append([]string{"AUGER_GITHUB_APP_ID=1", "AUGER_GITHUB_PRIVATE_KEY=" + testKey(t), "AUGER_GITHUB_WEBHOOK_SECRET=" + testSecret,
		"AUGER_GITHUB_API_URL=http://127.0.0.1:1/"}, extraEnv...)
	cfg, err := app.LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := app.NewServer(cfg, zerolog.New(logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetReady(true)
	return srv, cfg, logs
}

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestWebhookIntake(t *testing.T) {
	srv, _, logs := testServer(t, "AUGER_LISTEN=127.0.0.1:0")
	h := srv.Handler()
	push := []byte(`{"ref":"refs/heads/main","after":"deae5dbaf237766240181fa397e923d3c5253112","deleted":false,` +
		`"repository":{"name":"frontend","owner":{"login":"mycompany"}},"installation":{"id":1}}`)

	cases := map[string]struct {
		event     string
		body      []byte
		signature string
		want      int
	}{
		"signed push":        {"push", push, sign(push, testSecret), http.StatusOK},
		"forged signature":   {"push", push, sign(push, "guess"), http.StatusUnauthorized},
		"missing signature":  {"push", push, "", http.StatusUnauthorized},
		"tampered body":      {"push", append([]byte(" "), push...), sign(push, testSecret), http.StatusUnauthorized},
		"malformed payload":  {"push", []byte(`{"ref": `), sign([]byte(`{"ref": `), testSecret), http.StatusBadRequest},
		"event not handled":  {"star", push, sign(push, testSecret), http.StatusAccepted},
		"no event header":    {"", push, sign(push, testSecret), http.StatusBadRequest},
		"oversized declared": {"push", bytes.Repeat([]byte(" "), 26<<20), "sha256=00", http.StatusRequestEntityTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sig := tc.signature
			if sig == "" {
				sig = "000000"
			}
			req := httptest.NewRequest(http.MethodPost, "/api/github/hook", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.event != "" {
				req.Header.Set("X-GitHub-Event", tc.event)
			}
			req.Header.Set("X-GitHub-Delivery", "delivery-"+strings.ReplaceAll(name, " ", "-"))
			if tc.signature != "" {
				req.Header.Set("X-Hub-Signature-256", tc.signature)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status = %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.want)
			}
		})
	}

	// A chunked body with no Content-Length is cut at the cap too.
	big := io.MultiReader(strings.NewReader(`{"a":"`), strings.NewReader(strings.Repeat("x", 26<<20)), strings.NewReader(`"}`))
	req := httptest.NewRequest(http.MethodPost, "/api/github/hook", big)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed oversized body: %d", rec.Code)
	}

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d", path, rec.Code)
		}
		if path == "/metrics" {
			body := rec.Body.String()
			for _, m := range []string{`auger_webhooks_total{event="push",outcome="unauthorized"} 3`, `auger_webhooks_total{event="push",outcome="too_large"}`,
				"auger_webhook_queue_depth", "auger_webhook_ack_seconds", "auger_github_rate_limit_remaining"} {
				if !strings.Contains(body, m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		}
	}
	if strings.Contains(logs.String(), testSecret) || strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("logs show a secret")
	}
}

func TestShutdownStopsIntakeAndDrains(t *testing.T) {
	srv, _, _ := testServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	waitFor(t, func() bool { r, err := http.Get(url + "/readyz"); return err == nil && r.StatusCode == 200 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// waitFor polls ok for up to 10 s: reactions are paced a second apart per installation, so
// a few commands in a row put the last reaction seconds after its reply on a busy machine.
func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}
