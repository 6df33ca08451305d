package app_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/app"
)

func TestDashboardConfig(t *testing.T) {
	keyFile := writeFile(t, "key.pem", testKey(t))
	secretFile := writeFile(t, "client-secret", "  from-a-file\n")
	base := []string{"AUGER_GITHUB_APP_ID=1", "AUGER_GITHUB_PRIVATE_KEY_FILE=" + keyFile, "AUGER_GITHUB_WEBHOOK_SECRET=x"}
	cfg, err := app.LoadConfig("", append(base, "AUGER_GITHUB_CLIENT_ID=Iv1.abc", "AUGER_GITHUB_CLIENT_SECRET_FILE="+secretFile))
	if err != nil || cfg.GitHub.ClientID != "Iv1.abc" || cfg.GitHub.ClientSecret != "from-a-file" {
		t.Fatalf("client from a file: %v %+v", err, cfg)
	}
	_, err = app.LoadConfig("", append(base, "AUGER_GITHUB_CLIENT_ID=Iv1.abc"))
	var cfgErr *app.ConfigError
	if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 1 || !strings.Contains(cfgErr.Problems[0], "github.clientID and github.clientSecret") {
		t.Errorf("client id without secret: %v", err)
	}
	_, err = app.LoadConfig("", append(base, "AUGER_GITHUB_CLIENT_SECRET=s", "AUGER_GITHUB_CLIENT_SECRET_FILE="+secretFile, "AUGER_GITHUB_CLIENT_ID=x"))
	if err == nil || !strings.Contains(err.Error(), "give one, not both") {
		t.Errorf("secret twice: %v", err)
	}

	// Without the client the dashboard is off, said in one line, and / is not served.
	cfg, err = app.LoadConfig("", base)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := app.NewServer(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "dashboard off"); n != 1 || !strings.Contains(logs.String(), "github.clientID") {
		t.Errorf("start-up log:\n%s", logs.String())
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET / with the dashboard off: %d", rec.Code)
	}
}
