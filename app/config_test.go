package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/app"
)

func testKey(t testing.TB) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFromEnvironmentOnly(t *testing.T) {
	keyFile := writeFile(t, "key.pem", testKey(t))
	cfg, err := app.LoadConfig("", []string{"AUGER_GITHUB_APP_ID=42", "AUGER_GITHUB_PRIVATE_KEY_FILE=" + keyFile, "AUGER_GITHUB_WEBHOOK_SECRET=s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.AppID != 42 || cfg.GitHub.APIURL != app.DefaultGitHubAPIURL || cfg.GitHub.WebURL != app.DefaultGitHubWebURL ||
		cfg.Server.Listen != ":8080" || cfg.Server.EventTimeout != app.DefaultEventTimeout || !strings.HasPrefix(cfg.GitHub.PrivateKey, "-----BEGIN") {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if len(cfg.Charts.AllowedSources) != 2 {
		t.Errorf("default chart sources = %v", cfg.Charts.AllowedSources)
	}
}

func TestConfigFileWithEnvironmentOverrides(t *testing.T) {
	key := testKey(t)
	path := writeFile(t, "auger.yaml", `
github:
  appID: 1
  webhookSecret: from-file
  apiURL: https://ghe.example.com/api/v3
server:
  listen: ":9000"
  eventTimeout: 90s
charts:
  allowedSources: ["https://chart.onechart.dev/"]
environments:
  - name: staging
    gitops: {repository: mycompany/gitops}
    policyBranches: [main]
    agentToken: {env: STAGING_AGENT_TOKEN}
  - name: production
    gitops: {repository: mycompany/gitops-prod, branch: prod, path: clusters/prod}
    release: {mode: pull-request}
    permission: maintain
    teams: [mycompany/sre]
    requireApproval: true
    production: true
    url: https://example.com
`)
	cfg, err := app.LoadConfig(path, []string{"AUGER_GITHUB_APP_ID=7", "AUGER_GITHUB_PRIVATE_KEY=" + key, "AUGER_LISTEN=:9100", "STAGING_AGENT_TOKEN=agent-token"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.AppID != 7 || cfg.Server.Listen != ":9100" || cfg.GitHub.WebhookSecret != "from-file" {
		t.Errorf("overrides: %+v", cfg.GitHub)
	}
	if cfg.GitHub.APIURL != "https://ghe.example.com/api/v3/" || cfg.Server.EventTimeout != 90*time.Second {
		t.Errorf("file values: %q %v", cfg.GitHub.APIURL, cfg.Server.EventTimeout)
	}
	staging, prod := cfg.Environments[0], cfg.Environments[1]
	if staging.Gitops.Branch != "main" || staging.Release.Mode != "push" || staging.Permission != "write" || staging.ResolvedAgentToken() != "agent-token" {
		t.Errorf("staging: %+v", staging)
	}
	if prod.Release.Merge != "auto" || prod.Gitops.Path != "clusters/prod" || !prod.RequireApproval {
		t.Errorf("production: %+v", prod)
	}
}

func TestConfigProblemsAreAllReported(t *testing.T) {
	path := writeFile(t, "auger.yaml", `
github:
  privateKey: "not a key but maybe a secret"
environments:
  - name: Staging
    gitops: {}
  - name: prod
    gitops: {repository: "not a repo", url: "https://x"}
    release: {mode: yolo}
    permission: read
    teams: [sre]
    policyBranches: ["[main"]
    agentToken: {env: MISSING_TOKEN}
  - name: prod
    gitops: {repository: a/b, path: ../etc}
  - name: pr-by-url
    gitops: {url: "https://git.example.com/gitops.git"}
    release: {mode: pull-request}
charts:
  allowedSources: [local]
`)
	_, err := app.LoadConfig(path, nil)
	var cfgErr *app.ConfigError
	if !errors.As(err, &cfgErr) {
		t.Fatalf("err = %v", err)
	}
	all := strings.Join(cfgErr.Problems, "\n")
	for _, want := range []string{
		"github.appID: required: set AUGER_GITHUB_APP_ID",
		"github.webhookSecret: required",
		"github.privateKey: not a PEM private key",
		`environments[0] (Staging).name: "Staging": not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)`,
		"environments[0] (Staging).gitops: give repository",
		"environments[1] (prod).gitops: give repository or url, not both",
		`environments[1] (prod).release.mode: "yolo"`,
		`environments[1] (prod).permission: "read"`,
		`environments[1] (prod).teams[0]: "sre" is not org/team-slug`,
		`environments[1] (prod).policyBranches[0]: "[main" is not a valid glob`,
		"environments[1].agentToken.env: variable MISSING_TOKEN is not set",
		`environments[2] (prod).name: "prod" is defined twice`,
		`environments[2] (prod).gitops.path: "../etc"`,
		"charts.allowedSources[0]: the server never renders charts from its own filesystem",
		"environments[3] (pr-by-url).release.mode: pull-request needs gitops.repository",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing problem %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "maybe a secret") {
		t.Error("a problem echoes the private key")
	}
}

func TestConfigUnknownKeyNamesTheLine(t *testing.T) {
	path := writeFile(t, "auger.yaml", "github:\n  appID: 1\n  appId: 2\n")
	_, err := app.LoadConfig(path, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "appId") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeRefusesToStartWithoutCredentials(t *testing.T) {
	_, stderr, code := run(t, "serve")
	if code == 0 || strings.Count(stderr, "\n") != 3 || !strings.Contains(stderr, "README") {
		t.Fatalf("serve without credentials (%d):\n%s", code, stderr)
	}
}

// The example configuration in the README must load; its only problems here are the
// secret files that exist on a real server.
func TestExampleConfigLoads(t *testing.T) {
	keyFile := writeFile(t, "key.pem", testKey(t))
	_, err := app.LoadConfig("../examples/auger.yaml", []string{"AUGER_GITHUB_APP_ID=1", "AUGER_GITHUB_PRIVATE_KEY_FILE=" + keyFile,
		"AUGER_GITHUB_WEBHOOK_SECRET=x", "AUGER_AGENT_TOKEN_STAGING=t", "AUGER_SLACK_WEBHOOK=https://hooks.slack.com/services/T/B/x"})
	var cfgErr *app.ConfigError
	if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 2 || !strings.Contains(cfgErr.Problems[0], "/etc/auger/release-hook") ||
		!strings.Contains(cfgErr.Problems[1], "/etc/auger/agent-token-production") {
		t.Fatalf("example config: %v", err)
	}
}
