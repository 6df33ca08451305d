package app_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/dashboard"
	"github.com/auger-dev/auger/internal/githubfake"
)

// TestSetupPageRegistersTheApp walks GitHub's manifest flow from the setup page: the
// manifest posted is app.yml pointed at Auger, the credentials land in the named
// directory (never on the page), and Auger's configuration loads from them.
func TestSetupPageRegistersTheApp(t *testing.T) {
	fake := githubfake.New(t)
	dir := filepath.Join(t.TempDir(), "creds")
	logs := &syncBuffer{}
	setup, err := dashboard.NewSetup(dashboard.SetupConfig{WebURL: fake.URL, APIURL: fake.URL, Dir: dir, Log: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(setup)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(u string) (int, string) {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := get(srv.URL + "/")
	action := html.UnescapeString(regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(page)[1])
	manifest := html.UnescapeString(regexp.MustCompile(`name="manifest" value="([^"]+)"`).FindStringSubmatch(page)[1])
	if !strings.HasPrefix(action, fake.URL+"settings/apps/new?state=") || !strings.Contains(manifest, `"url":"`+srv.URL+`/api/github/hook"`) ||
		!strings.Contains(manifest, `"checks":"write"`) || !strings.Contains(manifest, `"redirect_url":"`+srv.URL+`/setup/callback"`) {
		t.Fatalf("setup form: action %s\nmanifest %s", action, manifest)
	}
	resp, err := client.PostForm(action, url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="setup-done"`) || !strings.Contains(string(body), "Restart Auger") {
		t.Fatalf("after GitHub: %d\n%s", resp.StatusCode, body)
	}
	for _, secret := range []string{githubfake.ClientSecret, "PRIVATE KEY", "whsec-"} {
		if strings.Contains(string(body), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("the page or the log shows a secret %q", secret)
		}
	}
	envFile, err := os.ReadFile(filepath.Join(dir, dashboard.FileEnv))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, dashboard.FilePrivateKey)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v %v", info, err)
	}
	environ := append(strings.Split(strings.TrimSpace(string(envFile)), "\n"), "AUGER_GITHUB_API_URL="+fake.URL)
	cfg, err := app.LoadConfig("", environ)
	if err != nil {
		t.Fatalf("config from the setup's credentials: %v", err)
	}
	if cfg.GitHub.AppID != fake.AppID() || cfg.GitHub.ClientID != githubfake.ClientID || cfg.GitHub.ClientSecret != githubfake.ClientSecret ||
		cfg.GitHub.PrivateKey != strings.TrimSpace(string(fake.PrivateKeyPEM())) || !strings.HasPrefix(cfg.GitHub.WebhookSecret, "whsec-") {
		t.Errorf("config: app %d, client %q", cfg.GitHub.AppID, cfg.GitHub.ClientID)
	}

	// A replayed callback: the code is spent, and nothing is overwritten.
	before, _ := os.ReadFile(filepath.Join(dir, dashboard.FileWebhookSecret))
	status, page := get(resp.Request.URL.String())
	after, _ := os.ReadFile(filepath.Join(dir, dashboard.FileWebhookSecret))
	if status == http.StatusOK || string(before) != string(after) || !strings.Contains(page, "Start again") {
		t.Errorf("replayed callback: %d\n%s", status, page)
	}
}

// The setup page posts app.yml itself: the dashboard's embedded copy is the same file.
func TestSetupManifestIsAppYML(t *testing.T) {
	want, err := os.ReadFile("../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../dashboard/app.yml")
	if err != nil || string(got) != string(want) {
		t.Errorf("dashboard/app.yml differs from app.yml: copy it (cp app.yml dashboard/app.yml)")
	}
}
