package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// RepoGitHub is what the dashboard needs from GitHub as the App's installation on a
// repository: what releases need (the pipeline's GitHub) and the recent commits and
// pull requests its artifacts are found on.
type RepoGitHub interface {
	commands.PullRequestsGitHub
	RecentCommits(ctx context.Context, repo commands.RepoRef, branch string, n int) ([]githubapi.RecentCommit, error)
	OpenPullRequests(ctx context.Context, repo commands.RepoRef, n int) ([]commands.PullRequest, error)
}

// UserGitHub is what the dashboard asks GitHub as the signed-in person.
type UserGitHub interface {
	SignedInUser(ctx context.Context) (string, error)
	UserRepositories(ctx context.Context) ([]string, error)
}

// Config is what the dashboard is built from; the server fills it from its own.
type Config struct {
	// ClientID and ClientSecret are the GitHub App's OAuth client.
	ClientID     string
	ClientSecret string
	// WebURL is GitHub's web base (https://github.com/), where people sign in and links
	// point; APIURL its REST base.
	WebURL string
	APIURL string
	// PublicURL is where people reach Auger (https://auger.example.com); empty takes
	// the request's host, over https unless it is a loopback address.
	PublicURL string

	Environments []commands.EnvironmentRules
	// PullRequests runs the actions: the same pipeline as comments and buttons.
	PullRequests *commands.PullRequests
	Recorder     *commands.Recorder
	// Installation is the App's GitHub client for a repository.
	Installation func(ctx context.Context, repository string) (RepoGitHub, error)
	// UserGitHub is a GitHub client acting as a person, with their token.
	UserGitHub func(token string) UserGitHub
	// HTTPClient makes the sign-in's token request.
	HTTPClient *http.Client
	// ActionTimeout bounds one action (a release).
	ActionTimeout time.Duration
	Log           zerolog.Logger
	Now           func() time.Time
}

// Dashboard is the dashboard's HTTP handler.
type Dashboard struct {
	cfg     *Config
	cookies *cookies
	read    *reader
	pages   map[string]*template.Template
	static  http.Handler
	mux     *http.ServeMux
	csrf    *http.CrossOriginProtection
}

// New builds the dashboard.
func New(cfg Config) (*Dashboard, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("dashboard: the GitHub App's client id and secret are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 5 * time.Minute
	}
	cfg.WebURL = strings.TrimSuffix(cfg.WebURL, "/") + "/"
	ck, err := newCookies(cfg.ClientSecret, cfg.Now)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	d := &Dashboard{cfg: &cfg, cookies: ck, pages: pages, static: http.StripPrefix("/static/", http.FileServerFS(sub)), mux: http.NewServeMux(),
		csrf: http.NewCrossOriginProtection()}
	d.read = newReader(d.cfg)
	d.routes()
	return d, nil
}

func (d *Dashboard) routes() {
	d.mux.Handle("GET /static/", d.static)
	d.mux.HandleFunc("GET /{$}", d.home)
	d.mux.HandleFunc("GET /signin", d.signIn)
	d.mux.HandleFunc("GET /auth/callback", d.callback)
	d.mux.HandleFunc("POST /signout", d.signOut)
	d.mux.HandleFunc("GET /env/{env}", d.envPage)
	d.mux.HandleFunc("GET /app/{env}/{app}", d.appPage)
	d.mux.HandleFunc("POST /actions/{action}", d.action)
}

// Paths the dashboard serves, for the server's mux.
var Paths = []string{"/{$}", "/static/", "/signin", "/auth/callback", "/signout", "/env/", "/app/", "/actions/"}

// ServeHTTP serves the dashboard with its security headers.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header(), "")
	d.mux.ServeHTTP(w, r)
}

// securityHeaders are on every answer: a strict content security policy (no inline
// script or style, nothing from elsewhere, forms only to Auger and to formTarget), no
// framing, no sniffing, no referrer beyond Auger.
func securityHeaders(h http.Header, formTarget string) {
	formAction := "'self'"
	if formTarget != "" {
		formAction += " " + formTarget
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
		"form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// Invalidate tells the dashboard that something it shows may have changed: a webhook
// about a repository's commit (sha "" when the event names none), or, with repository
// "", anything.
func (d *Dashboard) Invalidate(repository, sha string) {
	d.read.invalidate(repository, sha, repository == "" && sha == "")
}

// render writes a page, or, for the live updates' ?fragment=live, only its live part,
// with an ETag so that a poll that finds nothing new costs a 304.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t := d.pages[page]
	name := page
	if r.URL.Query().Get("fragment") == "live" {
		name = "live"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		d.cfg.Log.Error().Err(err).Str("page", page).Msg("dashboard page failed to render")
		http.Error(w, "the page failed to render; see Auger's log", http.StatusInternalServerError)
		return
	}
	if status == http.StatusOK {
		sum := sha256.Sum256(buf.Bytes())
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "no-cache, private")
		if match := r.Header.Get("If-None-Match"); match == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem renders an error page; message is shown to the person, so it never carries a
// secret.
func (d *Dashboard) problem(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	d.render(w, r, status, "problem", map[string]any{"Title": title, "Message": message, "Session": d.cookies.read(r)})
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ago":   ago,
		"short": short,
		"lower": strings.ToLower,
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/base.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, page := range []string{"home", "env", "app", "signin", "result", "problem", "setup"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", page, err)
		}
		pages[page] = t
	}
	return pages, nil
}

// ago says how long ago t was, in the largest unit that fits.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}
