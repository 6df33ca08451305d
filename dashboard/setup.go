package dashboard

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/auger-dev/auger/githubapi"
)

// appManifest is app.yml, the App's manifest (a copy kept equal to the repository's
// app.yml by a test, since embedding reaches only this package's folder).
//
//go:embed app.yml
var appManifest []byte

// SetupConfig is what the setup page needs: where GitHub is, where Auger is reached and
// the directory the operator named for the credentials.
type SetupConfig struct {
	WebURL, APIURL string
	// PublicURL is where GitHub reaches Auger; empty takes the request's host.
	PublicURL string
	// Dir receives the credentials, one file each, and auger.env naming them.
	Dir        string
	HTTPClient *http.Client
	Log        zerolog.Logger
}

// Setup serves the setup page of an Auger started without App credentials: it registers
// the GitHub App from app.yml through GitHub's manifest flow and writes the credentials
// GitHub hands out (App id, private key, webhook secret, OAuth client id and secret) to
// Dir, then asks for a restart. The credentials are never shown on the page or logged.
type Setup struct {
	cfg    SetupConfig
	cookie *securecookie.SecureCookie
	mux    *http.ServeMux
	host   *Dashboard // only for publicURL and rendering
}

// Credential files Setup writes into its directory.
const (
	FileAppID         = "app-id"
	FilePrivateKey    = "private-key.pem"
	FileWebhookSecret = "webhook-secret"
	FileClientID      = "client-id"
	FileClientSecret  = "client-secret"
	FileEnv           = "auger.env"
)

// NewSetup builds the setup page.
func NewSetup(cfg SetupConfig) (*Setup, error) {
	if cfg.Dir == "" {
		return nil, errors.New("setup: name the directory that receives the App's credentials")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	cfg.WebURL = strings.TrimSuffix(cfg.WebURL, "/") + "/"
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	// One process serves the setup: a key of its own signs the flow's state.
	cookie := securecookie.New(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32)).MaxAge(3600)
	s := &Setup{cfg: cfg, cookie: cookie, mux: http.NewServeMux(),
		host: &Dashboard{cfg: &Config{PublicURL: cfg.PublicURL, Log: cfg.Log}, pages: pages}}
	s.mux.HandleFunc("GET /{$}", s.start)
	s.mux.HandleFunc("GET /setup/callback", s.callback)
	sub := http.FileServerFS(staticFS)
	s.mux.Handle("GET /static/", sub)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Auger is not set up yet: open / to register its GitHub App", http.StatusServiceUnavailable)
	})
	return s, nil
}

// ServeHTTP serves the setup page with the dashboard's security headers; its one form
// posts to GitHub.
func (s *Setup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header(), strings.TrimSuffix(s.cfg.WebURL, "/"))
	s.mux.ServeHTTP(w, r)
}

// Manifest is app.yml as GitHub's manifest flow takes it (JSON), pointed at base.
func Manifest(base string) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(appManifest, &m); err != nil {
		return nil, fmt.Errorf("app.yml: %w", err)
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		return nil, errors.New("app.yml: no hook_attributes")
	}
	hook["url"] = base + "/api/github/hook"
	m["redirect_url"] = base + "/setup/callback"
	m["callback_urls"] = []string{base + "/auth/callback"}
	m["request_oauth_on_install"] = false
	return json.Marshal(m)
}

type setupView struct {
	page
	Action   string
	Manifest string
	Dir      string
	Org      string
	// Done names the files written after GitHub created the App.
	Done    bool
	Files   []string
	AppURL  string
	Problem string
}

// start shows the button that posts app.yml to GitHub.
func (s *Setup) start(w http.ResponseWriter, r *http.Request) {
	base := s.host.publicURL(r)
	manifest, err := Manifest(base)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	state := randomID(16)
	v, err := s.cookie.Encode("auger_setup", state)
	if err != nil {
		http.Error(w, "setup: cannot start", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "auger_setup", Value: v, Path: "/", MaxAge: 3600, HttpOnly: true, Secure: strings.HasPrefix(base, "https://"), SameSite: http.SameSiteLaxMode})
	org := r.URL.Query().Get("org")
	action := s.cfg.WebURL + "settings/apps/new?state=" + state
	if org != "" {
		if !namePattern.MatchString(strings.ToLower(org)) {
			http.Error(w, "org: not a GitHub organization name", http.StatusBadRequest)
			return
		}
		action = s.cfg.WebURL + "organizations/" + org + "/settings/apps/new?state=" + state
	}
	s.host.render(w, r, http.StatusOK, "setup", setupView{page: page{Title: "Set up"}, Action: action, Manifest: string(manifest), Dir: s.cfg.Dir, Org: org})
}

// callback converts GitHub's code into the App's credentials and writes them.
func (s *Setup) callback(w http.ResponseWriter, r *http.Request) {
	view := setupView{page: page{Title: "Set up"}, Dir: s.cfg.Dir}
	fail := func(status int, msg string) {
		view.Problem = msg
		s.host.render(w, r, status, "setup", view)
	}
	var state string
	ck, err := r.Cookie("auger_setup")
	if err != nil || s.cookie.Decode("auger_setup", ck.Value, &state) != nil || state == "" || r.URL.Query().Get("state") != state {
		fail(http.StatusBadRequest, "This setup was not started in this browser, or it took longer than an hour. Start again.")
		return
	}
	code := r.URL.Query().Get("code")
	if code == "" || len(code) > 100 {
		fail(http.StatusBadRequest, "GitHub sent no code back. Start again.")
		return
	}
	creds, err := githubapi.ConvertManifest(r.Context(), s.cfg.APIURL, code, s.cfg.HTTPClient)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("setup: GitHub did not convert the manifest code")
		fail(http.StatusBadGateway, "GitHub did not hand out the App's credentials (the code is used once, within an hour). Start again.")
		return
	}
	files, err := writeCredentials(s.cfg.Dir, creds)
	if err != nil {
		s.cfg.Log.Error().Err(err).Str("dir", s.cfg.Dir).Msg("setup: could not write the App's credentials")
		fail(http.StatusInternalServerError, "GitHub created the App, but Auger could not write its credentials to "+s.cfg.Dir+": "+err.Error()+
			". Generate a private key and a client secret on the App's settings page ("+creds.HTMLURL+") and configure them by hand.")
		return
	}
	s.cfg.Log.Info().Int64("app_id", creds.ID).Str("dir", s.cfg.Dir).Msg("setup: GitHub App created; restart Auger with its credentials")
	view.Done, view.Files, view.AppURL = true, files, creds.HTMLURL
	s.host.render(w, r, http.StatusOK, "setup", view)
}

// writeCredentials writes the credentials, one file each (mode 0600, the directory
// 0700), and auger.env, which sets Auger's variables to them. Nothing is overwritten:
// a directory that holds credentials already is refused before anything is written.
func writeCredentials(dir string, c githubapi.AppCredentials) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	path := func(name string) string { return filepath.Join(abs, name) }
	env := strings.Join([]string{
		"AUGER_GITHUB_APP_ID=" + strconv.FormatInt(c.ID, 10),
		"AUGER_GITHUB_PRIVATE_KEY_FILE=" + path(FilePrivateKey),
		"AUGER_GITHUB_WEBHOOK_SECRET_FILE=" + path(FileWebhookSecret),
		"AUGER_GITHUB_CLIENT_ID=" + c.ClientID,
		"AUGER_GITHUB_CLIENT_SECRET_FILE=" + path(FileClientSecret),
	}, "\n") + "\n"
	files := []struct{ name, content string }{
		{FileAppID, strconv.FormatInt(c.ID, 10) + "\n"},
		{FilePrivateKey, c.PrivateKey},
		{FileWebhookSecret, c.WebhookSecret + "\n"},
		{FileClientID, c.ClientID + "\n"},
		{FileClientSecret, c.ClientSecret + "\n"},
		{FileEnv, env},
	}
	for _, f := range files {
		if _, err := os.Stat(path(f.name)); err == nil {
			return nil, fmt.Errorf("%s exists already; name an empty directory", path(f.name))
		}
	}
	var written []string
	for _, f := range files {
		tmp, err := os.CreateTemp(abs, "."+f.name+"-*")
		if err != nil {
			return nil, err
		}
		_, werr := tmp.WriteString(f.content)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o600), os.Rename(tmp.Name(), path(f.name))); err != nil {
			_ = os.Remove(tmp.Name())
			return nil, err
		}
		written = append(written, path(f.name))
	}
	return written, nil
}
