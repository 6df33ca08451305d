package app

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
)

// Defaults, applied in one place (Config.applyDefaults).
const (
	DefaultGitHubAPIURL    = "https://api.github.com/"
	DefaultGitHubWebURL    = "https://github.com/"
	DefaultListen          = ":8080"
	DefaultQueueSize       = 200
	DefaultWorkers         = 8
	DefaultEventTimeout    = 5 * time.Minute
	DefaultShutdownTimeout = 2 * time.Minute
	// GitHub caps webhook payloads at 25 MB.
	DefaultMaxBodyBytes = 25 << 20
	DefaultPermission   = "write"
	// DefaultCatchUpWindow covers a restart and a crash loop of a few minutes.
	DefaultCatchUpWindow = 15 * time.Minute
	// DefaultAgentTimeout is how long a release waits for its environment's agent to
	// report before its deploy check run ends as neutral.
	DefaultAgentTimeout = 15 * time.Minute
	setupDocs           = `see "Setting up the GitHub App" in the README, or set AUGER_SETUP_DIR to register it from Auger's setup page`
)

// DefaultAllowedChartSources is what the server renders from when the operator names
// no chart sources: remote HTTPS and OCI only, never the server's own filesystem or
// plain HTTP.
var DefaultAllowedChartSources = []string{"https://", "oci://"}

// Config is the server's configuration: one YAML file plus AUGER_* environment
// variables, which win.
type Config struct {
	GitHub       GitHubConfig        `yaml:"github"`
	Server       ServerConfig        `yaml:"server"`
	Charts       ChartsConfig        `yaml:"charts"`
	Gitops       GitopsCacheConfig   `yaml:"gitops"`
	CI           CIConfig            `yaml:"ci"`
	Environments []EnvironmentConfig `yaml:"environments"`
}

// GitHubConfig says which GitHub App Auger is and where GitHub is.
type GitHubConfig struct {
	AppID             int64  `yaml:"appID"`
	PrivateKey        string `yaml:"privateKey"`
	PrivateKeyFile    string `yaml:"privateKeyFile"`
	WebhookSecret     string `yaml:"webhookSecret"`
	WebhookSecretFile string `yaml:"webhookSecretFile"`
	// APIURL is the REST base (GitHub Enterprise Server: https://HOST/api/v3/).
	APIURL string `yaml:"apiURL"`
	// WebURL is where repositories are cloned from (<WebURL><owner>/<name>.git).
	WebURL string `yaml:"webURL"`
	// ClientID and ClientSecret are the App's OAuth client, for the dashboard's sign-in;
	// without them the dashboard is off.
	ClientID         string `yaml:"clientID"`
	ClientSecret     string `yaml:"clientSecret"`
	ClientSecretFile string `yaml:"clientSecretFile"`
	// PacingUnit is the second of GitHub's secondary limits, which pace the requests
	// that create or change things per installation: one at a time, a second apart, 80 a
	// minute, 500 an hour (default 1s, GitHub's). Only tests and benchmarks shrink it.
	PacingUnit time.Duration `yaml:"pacingUnit"`
}

// ServerConfig tunes the HTTP server and the webhook queue.
type ServerConfig struct {
	Listen          string        `yaml:"listen"`
	PublicURL       string        `yaml:"publicURL"`
	QueueSize       int           `yaml:"queueSize"`
	Workers         int           `yaml:"workers"`
	EventTimeout    time.Duration `yaml:"eventTimeout"`
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	MaxBodyBytes    int64         `yaml:"maxBodyBytes"`
	// CatchUpWindow is how far back, at start, Auger asks GitHub to redeliver webhooks a
	// crash may have lost (default 15m; a negative value turns it off).
	CatchUpWindow time.Duration `yaml:"catchUpWindow"`
	// StateDir holds the journal of the deliveries this server finished, which lets a
	// restart catch up on only what it lost (default: the user's cache directory,
	// auger/). Give each replica its own, or none: sharing one is harmless but useless.
	StateDir string `yaml:"stateDir"`
}

// ChartsConfig says where charts may come from (the guard against server-side request
// forgery) and where they are cached.
type ChartsConfig struct {
	AllowedSources []string `yaml:"allowedSources"`
	CacheDir       string   `yaml:"cacheDir"`
}

// GitopsCacheConfig says where cached clones of gitops repositories live and how much
// room they may take: MaxSizeMB bounds the directory across repositories (least
// recently used clones go first) and Idle evicts a clone unused that long. Zero means
// gitops.DefaultCacheMaxBytes and gitops.DefaultCacheIdle; negative turns a bound off.
type GitopsCacheConfig struct {
	CacheDir  string        `yaml:"cacheDir"`
	MaxSizeMB int64         `yaml:"maxSizeMB"`
	Idle      time.Duration `yaml:"idle"`
}

// options are the gitops options the cache configuration sets.
func (g GitopsCacheConfig) options(branch string) gitops.Options {
	maxBytes := g.MaxSizeMB << 20
	if g.MaxSizeMB < 0 {
		maxBytes = -1
	}
	return gitops.Options{Branch: branch, CacheDir: g.CacheDir, CacheMaxBytes: maxBytes, CacheIdle: g.Idle}
}

// CIConfig says which check runs count as "CI passed".
type CIConfig struct {
	// Checks names them; empty means every check run on the commit not created by Auger.
	Checks []string `yaml:"checks"`
}

// EnvironmentConfig is one environment, defined by the operator (app repositories can
// neither create nor widen one).
type EnvironmentConfig struct {
	Name            string      `yaml:"name"`
	Gitops          GitopsRepo  `yaml:"gitops"`
	Release         ReleaseMode `yaml:"release"`
	Permission      string      `yaml:"permission"`
	Teams           []string    `yaml:"teams"`
	Users           []string    `yaml:"users"`
	RequireApproval bool        `yaml:"requireApproval"`
	RequireChecks   bool        `yaml:"requireChecks"`
	AllowForks      bool        `yaml:"allowForks"`
	PolicyBranches  []string    `yaml:"policyBranches"`
	AgentToken      SecretRef   `yaml:"agentToken"`
	// AgentTimeout ends a release's deploy check run as neutral when the agent has not
	// reported on it by then.
	AgentTimeout time.Duration `yaml:"agentTimeout"`
	URL          string        `yaml:"url"`
	Production   bool          `yaml:"production"`
	// Notifications are the channels told about releases: Slack incoming webhooks and
	// generic JSON webhooks, whose URLs (secrets) come from files or variables.
	Notifications []NotificationConfig `yaml:"notifications"`
	agentToken    string               // resolved from AgentToken
}

// NotificationConfig is one channel: exactly one of Slack or Webhook.
type NotificationConfig struct {
	Slack   *SecretRef `yaml:"slack"`
	Webhook *SecretRef `yaml:"webhook"`
	url     string     // resolved
}

// ResolvedURL is the channel's URL, read from its file or variable.
func (n NotificationConfig) ResolvedURL() string { return n.url }

// GitopsRepo is an environment's gitops repository: a repository on the same GitHub
// (cloned with the installation token) or an explicit URL.
type GitopsRepo struct {
	Repository string `yaml:"repository"`
	URL        string `yaml:"url"`
	Branch     string `yaml:"branch"`
	Path       string `yaml:"path"`
}

// ReleaseMode says how releases land: pushed, or as a pull request merged by Auger
// (merge: auto) or by a person (merge: manual).
type ReleaseMode struct {
	Mode  string `yaml:"mode"`
	Merge string `yaml:"merge"`
}

// SecretRef reads a secret from a file or an environment variable, never from the
// config file itself.
type SecretRef struct {
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

// ResolvedAgentToken is the environment's agent token, read from its file or variable.
func (e EnvironmentConfig) ResolvedAgentToken() string { return e.agentToken }

// envOverrides maps AUGER_* variables onto the config.
var envOverrides = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"AUGER_GITHUB_APP_ID", func(c *Config, v string) error {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("AUGER_GITHUB_APP_ID: %q is not a number", v)
		}
		c.GitHub.AppID = id
		return nil
	}},
	{"AUGER_GITHUB_PRIVATE_KEY", func(c *Config, v string) error { c.GitHub.PrivateKey = v; return nil }},
	{"AUGER_GITHUB_PRIVATE_KEY_FILE", func(c *Config, v string) error { c.GitHub.PrivateKeyFile = v; return nil }},
	{"AUGER_GITHUB_WEBHOOK_SECRET", func(c *Config, v string) error { c.GitHub.WebhookSecret = v; return nil }},
	{"AUGER_GITHUB_WEBHOOK_SECRET_FILE", func(c *Config, v string) error { c.GitHub.WebhookSecretFile = v; return nil }},
	{"AUGER_GITHUB_CLIENT_ID", func(c *Config, v string) error { c.GitHub.ClientID = v; return nil }},
	{"AUGER_GITHUB_CLIENT_SECRET", func(c *Config, v string) error { c.GitHub.ClientSecret = v; return nil }},
	{"AUGER_GITHUB_CLIENT_SECRET_FILE", func(c *Config, v string) error { c.GitHub.ClientSecretFile = v; return nil }},
	{"AUGER_GITHUB_API_URL", func(c *Config, v string) error { c.GitHub.APIURL = v; return nil }},
	{"AUGER_GITHUB_WEB_URL", func(c *Config, v string) error { c.GitHub.WebURL = v; return nil }},
	{"AUGER_GITHUB_PACING_UNIT", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("AUGER_GITHUB_PACING_UNIT: %q is not a positive duration", v)
		}
		c.GitHub.PacingUnit = d
		return nil
	}},
	{"AUGER_LISTEN", func(c *Config, v string) error { c.Server.Listen = v; return nil }},
	{"AUGER_PUBLIC_URL", func(c *Config, v string) error { c.Server.PublicURL = v; return nil }},
	{"AUGER_GITOPS_CACHE_DIR", func(c *Config, v string) error { c.Gitops.CacheDir = v; return nil }},
	{"AUGER_STATE_DIR", func(c *Config, v string) error { c.Server.StateDir = v; return nil }},
	{"AUGER_GITOPS_CACHE_MAX_SIZE_MB", func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("AUGER_GITOPS_CACHE_MAX_SIZE_MB: %q is not a number", v)
		}
		c.Gitops.MaxSizeMB = n
		return nil
	}},
	{"AUGER_GITOPS_CACHE_IDLE", func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("AUGER_GITOPS_CACHE_IDLE: %q is not a duration (like 72h)", v)
		}
		c.Gitops.Idle = d
		return nil
	}},
	{"AUGER_CHART_CACHE_DIR", func(c *Config, v string) error { c.Charts.CacheDir = v; return nil }},
}

// ConfigError lists every problem found in the configuration, one per line.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// LoadConfig reads the config file (when path is not empty), applies the AUGER_*
// variables of environ, resolves secrets from files and variables, applies defaults
// and validates everything, reporting every problem at once.
func LoadConfig(path string, environ []string) (*Config, error) {
	cfg := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var problems []string
	for _, o := range envOverrides {
		if v, ok := env[o.name]; ok && v != "" {
			if err := o.set(cfg, v); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	cfg.applyDefaults()
	problems = append(problems, cfg.resolveSecrets(env)...)
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

func (c *Config) applyDefaults() {
	if c.GitHub.APIURL == "" {
		c.GitHub.APIURL = DefaultGitHubAPIURL
	}
	if c.GitHub.WebURL == "" {
		c.GitHub.WebURL = DefaultGitHubWebURL
	}
	c.GitHub.APIURL = strings.TrimSuffix(c.GitHub.APIURL, "/") + "/"
	c.GitHub.WebURL = strings.TrimSuffix(c.GitHub.WebURL, "/") + "/"
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Server.QueueSize == 0 {
		c.Server.QueueSize = DefaultQueueSize
	}
	if c.Server.Workers == 0 {
		c.Server.Workers = DefaultWorkers
	}
	if c.Server.EventTimeout == 0 {
		c.Server.EventTimeout = DefaultEventTimeout
	}
	if c.Server.ShutdownTimeout == 0 {
		c.Server.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Server.CatchUpWindow == 0 {
		c.Server.CatchUpWindow = DefaultCatchUpWindow
	}
	if c.Server.StateDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			c.Server.StateDir = filepath.Join(dir, "auger")
		}
	}
	if len(c.Charts.AllowedSources) == 0 {
		c.Charts.AllowedSources = DefaultAllowedChartSources
	}
	for i := range c.Environments {
		e := &c.Environments[i]
		if e.Gitops.Branch == "" {
			e.Gitops.Branch = "main"
		}
		if e.Release.Mode == "" {
			e.Release.Mode = "push"
		}
		if e.AgentTimeout == 0 {
			e.AgentTimeout = DefaultAgentTimeout
		}
		if e.Release.Mode == "pull-request" && e.Release.Merge == "" {
			e.Release.Merge = "auto"
		}
		if e.Permission == "" {
			e.Permission = DefaultPermission
		}
	}
}

// resolveSecrets reads secrets given as files or variable names.
func (c *Config) resolveSecrets(env map[string]string) []string {
	var problems []string
	readFile := func(field, path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: cannot read %s: %v", field, path, errors.Unwrap(err)))
			return ""
		}
		return strings.TrimSpace(string(data))
	}
	if c.GitHub.PrivateKeyFile != "" {
		if c.GitHub.PrivateKey != "" {
			problems = append(problems, "github.privateKey and github.privateKeyFile: give one, not both")
		} else {
			c.GitHub.PrivateKey = readFile("github.privateKeyFile", c.GitHub.PrivateKeyFile)
		}
	}
	if c.GitHub.WebhookSecretFile != "" {
		if c.GitHub.WebhookSecret != "" {
			problems = append(problems, "github.webhookSecret and github.webhookSecretFile: give one, not both")
		} else {
			c.GitHub.WebhookSecret = readFile("github.webhookSecretFile", c.GitHub.WebhookSecretFile)
		}
	}
	if c.GitHub.ClientSecretFile != "" {
		if c.GitHub.ClientSecret != "" {
			problems = append(problems, "github.clientSecret and github.clientSecretFile: give one, not both")
		} else {
			c.GitHub.ClientSecret = readFile("github.clientSecretFile", c.GitHub.ClientSecretFile)
		}
	}
	for i := range c.Environments {
		e := &c.Environments[i]
		for j := range e.Notifications {
			n := &e.Notifications[j]
			field := fmt.Sprintf("environments[%d].notifications[%d]", i, j)
			ref := n.Slack
			if (n.Slack == nil) == (n.Webhook == nil) {
				problems = append(problems, field+": give slack or webhook (one of them)")
				continue
			}
			if ref == nil {
				ref = n.Webhook
			}
			switch {
			case ref.File != "" && ref.Env == "":
				n.url = readFile(field+".file", ref.File)
			case ref.Env != "" && ref.File == "":
				if n.url = env[ref.Env]; n.url == "" {
					problems = append(problems, fmt.Sprintf("%s.env: variable %s is not set", field, ref.Env))
				}
			default:
				problems = append(problems, field+": give the URL's file or env (one of them); URLs are secrets and never go in the config file")
			}
			if n.url != "" && !strings.HasPrefix(n.url, "https://") && !strings.HasPrefix(n.url, "http://") {
				problems = append(problems, field+": the URL is not http(s)")
			}
		}
		field := fmt.Sprintf("environments[%d].agentToken", i)
		switch {
		case e.AgentToken.File != "" && e.AgentToken.Env != "":
			problems = append(problems, field+": give file or env, not both")
		case e.AgentToken.File != "":
			e.agentToken = readFile(field+".file", e.AgentToken.File)
		case e.AgentToken.Env != "":
			e.agentToken = env[e.AgentToken.Env]
			if e.agentToken == "" {
				problems = append(problems, fmt.Sprintf("%s.env: variable %s is not set", field, e.AgentToken.Env))
			}
		}
	}
	return problems
}

var (
	ownerName  = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	teamSlug   = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	githubUser = regexp.MustCompile(`^[A-Za-z0-9-]+(\[bot\])?$`)
)

func (c *Config) validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if c.GitHub.AppID <= 0 {
		add("github.appID: required: set AUGER_GITHUB_APP_ID (%s)", setupDocs)
	}
	if c.GitHub.PrivateKey == "" {
		add("github.privateKey: required: set AUGER_GITHUB_PRIVATE_KEY_FILE or AUGER_GITHUB_PRIVATE_KEY (%s)", setupDocs)
	} else if err := checkPrivateKey(c.GitHub.PrivateKey); err != nil {
		add("github.privateKey: %v", err)
	}
	if c.GitHub.WebhookSecret == "" {
		add("github.webhookSecret: required: Auger does not accept unsigned webhooks; set AUGER_GITHUB_WEBHOOK_SECRET (%s)", setupDocs)
	}
	if (c.GitHub.ClientID == "") != (c.GitHub.ClientSecret == "") {
		add("github.clientID and github.clientSecret: the dashboard needs both (the App's OAuth client, on its settings page), or neither to leave it off")
	}
	for field, u := range map[string]string{"github.apiURL": c.GitHub.APIURL, "github.webURL": c.GitHub.WebURL} {
		if err := checkURL(u); err != nil {
			add("%s: %v", field, err)
		}
	}
	if c.Server.PublicURL != "" {
		if err := checkURL(c.Server.PublicURL); err != nil {
			add("server.publicURL: %v", err)
		}
	}
	if c.Server.QueueSize < 1 || c.Server.Workers < 1 {
		add("server.queueSize and server.workers: must be at least 1")
	}
	if c.Server.EventTimeout < time.Second || c.Server.ShutdownTimeout < time.Second {
		add("server.eventTimeout and server.shutdownTimeout: must be at least 1s")
	}
	if c.Server.MaxBodyBytes < 1<<10 {
		add("server.maxBodyBytes: must be at least 1024")
	}
	for i, s := range c.Charts.AllowedSources {
		if s == "local" {
			add("charts.allowedSources[%d]: the server never renders charts from its own filesystem", i)
		}
	}
	for i, name := range c.CI.Checks {
		if strings.TrimSpace(name) == "" {
			add("ci.checks[%d]: empty check name", i)
		}
	}
	seen := map[string]bool{}
	for i, e := range c.Environments {
		at := fmt.Sprintf("environments[%d]", i)
		if e.Name != "" {
			at = fmt.Sprintf("environments[%d] (%s)", i, e.Name)
		}
		if msg := artifact.DNSLabelProblem(e.Name); msg != "" {
			add("%s.name: %s", at, msg)
		} else if seen[e.Name] {
			add("%s.name: %q is defined twice", at, e.Name)
		}
		seen[e.Name] = true
		switch {
		case e.Gitops.Repository == "" && e.Gitops.URL == "":
			add("%s.gitops: give repository (owner/name on this GitHub) or url", at)
		case e.Gitops.Repository != "" && e.Gitops.URL != "":
			add("%s.gitops: give repository or url, not both", at)
		case e.Gitops.Repository != "" && !ownerName.MatchString(e.Gitops.Repository):
			add("%s.gitops.repository: %q is not owner/name", at, e.Gitops.Repository)
		}
		if strings.Contains(e.Gitops.Path, "..") || strings.HasPrefix(e.Gitops.Path, "/") {
			add("%s.gitops.path: %q must be relative and stay inside the repository", at, e.Gitops.Path)
		}
		if e.Release.Mode != "push" && e.Release.Mode != "pull-request" {
			add("%s.release.mode: %q is not push or pull-request", at, e.Release.Mode)
		}
		if e.Release.Mode == "push" && e.Release.Merge != "" {
			add("%s.release.merge: only for mode pull-request", at)
		} else if e.Release.Mode == "pull-request" && e.Release.Merge != "auto" && e.Release.Merge != "manual" {
			add("%s.release.merge: %q is not auto or manual", at, e.Release.Merge)
		}
		if e.Release.Mode == "pull-request" && e.Gitops.Repository == "" {
			add("%s.release.mode: pull-request needs gitops.repository (owner/name on this GitHub), where Auger opens and merges the pull requests", at)
		}
		if e.Permission != "write" && e.Permission != "maintain" && e.Permission != "admin" {
			add("%s.permission: %q is not write, maintain or admin", at, e.Permission)
		}
		for j, t := range e.Teams {
			if !teamSlug.MatchString(t) {
				add("%s.teams[%d]: %q is not org/team-slug", at, j, t)
			}
		}
		for j, u := range e.Users {
			if !githubUser.MatchString(u) {
				add("%s.users[%d]: %q is not a GitHub login", at, j, u)
			}
		}
		for j, g := range e.PolicyBranches {
			if !doublestar.ValidatePattern(strings.TrimPrefix(g, "!")) {
				add("%s.policyBranches[%d]: %q is not a valid glob", at, j, g)
			}
		}
		if e.URL != "" {
			// Preview environments name each app's host: {{ .APP }} is allowed.
			if err := checkURL(strings.NewReplacer("{{ .APP }}", "app", "{{.APP}}", "app").Replace(e.URL)); err != nil {
				add("%s.url: %v", at, err)
			}
		}
	}
	return p
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	return nil
}

// checkPrivateKey makes sure the key parses, without ever echoing it.
func checkPrivateKey(key string) error {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return errors.New("not a PEM private key (download it from the GitHub App's settings page)")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("the PEM block is not an RSA private key")
}
