package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/internal/chartrepo"
	"github.com/auger-dev/auger/internal/gitserver"
)

// run runs the CLI in the repository root (where examples/ lives).
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := app.Main(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func chdirRoot(t *testing.T) {
	t.Helper()
	wd, _ := os.Getwd()
	t.Chdir(filepath.Dir(wd))
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestQuickstartRelease(t *testing.T) {
	chdirRoot(t)
	gitopsDir := filepath.Join(t.TempDir(), "gitops")
	cache := []string{"--cache-dir", t.TempDir(), "--chart-cache", t.TempDir()}

	out, errOut, code := run(t, append([]string{"release", "--gitops-repo", gitopsDir, "--artifact", "examples/artifact.json", "--env", "staging", "--triggered-by", "jane"}, cache...)...)
	if code != 0 {
		t.Fatalf("release failed (%d): %s", code, errOut)
	}
	if !strings.Contains(out, "released frontend 3b18e51 to staging") {
		t.Errorf("release output:\n%s", out)
	}
	deployment, err := os.ReadFile(filepath.Join(gitopsDir, "staging", "frontend", "deployment-frontend.yaml"))
	if err != nil {
		t.Fatalf("no rendered deployment in the gitops worktree: %v", err)
	}
	for _, want := range []string{"ghcr.io/mycompany/frontend:3b18e512dba79e4c8300dd08aeb37f8e728b8dad", "app.kubernetes.io/managed-by: auger", "auger.dev/sha: 3b18e512dba79e4c8300dd08aeb37f8e728b8dad"} {
		if !strings.Contains(string(deployment), want) {
			t.Errorf("deployment lacks %q:\n%s", want, deployment)
		}
	}

	// Again: nothing to do, no commit.
	out, _, code = run(t, append([]string{"release", "--gitops-repo", gitopsDir, "--artifact", "examples/artifact.json", "--env", "staging"}, cache...)...)
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("second release (%d):\n%s", code, out)
	}
	if n := gitOut(t, gitopsDir, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("commits = %s, want 1", n)
	}

	// A second artifact, then the log and a rollback.
	art, _ := os.ReadFile("examples/artifact.json")
	second := strings.ReplaceAll(string(art), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad", "9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b")
	second = strings.Replace(second, "5d3c9a0e-8f2b-4c61-9a7e-2b4f6d8e1c30", "11111111-2222-4333-8444-555555555555", 1)
	secondPath := filepath.Join(t.TempDir(), "second.json")
	os.WriteFile(secondPath, []byte(second), 0o644)
	if _, errOut, code := run(t, append([]string{"release", "--gitops-repo", gitopsDir, "--artifact", secondPath, "--env", "staging"}, cache...)...); code != 0 {
		t.Fatalf("second artifact: %s", errOut)
	}
	out, _, code = run(t, "releases", "--gitops-repo", gitopsDir, "--env", "staging", "--json", "--cache-dir", cache[1])
	var log []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &log) != nil || len(log) != 2 {
		t.Fatalf("releases --json (%d):\n%s", code, out)
	}
	if log[0]["sha"] != "9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b" || log[1]["triggeredBy"] != "jane" || log[0]["action"] != "release" {
		t.Errorf("log = %v", log)
	}
	out, errOut, code = run(t, "rollback", "--gitops-repo", gitopsDir, "--env", "staging", "--app", "frontend", "--cache-dir", cache[1])
	if code != 0 || !strings.Contains(out, "rolled back frontend in staging to release 1 (3b18e51") {
		t.Fatalf("rollback (%d): %s %s", code, out, errOut)
	}
	deployment2, _ := os.ReadFile(filepath.Join(gitopsDir, "staging", "frontend", "deployment-frontend.yaml"))
	if !bytes.Equal(deployment, deployment2) {
		t.Error("rollback did not restore the first release's deployment")
	}
	out, _, _ = run(t, "releases", "--gitops-repo", gitopsDir, "--env", "staging", "--cache-dir", cache[1])
	if !strings.Contains(out, "rollback") || !strings.Contains(out, "TRIGGERED BY") {
		t.Errorf("releases table:\n%s", out)
	}
}

func TestReleaseOverSmartHTTPWithToken(t *testing.T) {
	chdirRoot(t)
	srv := gitserver.Start(t)
	url := srv.Create(t, "gitops")
	t.Setenv("AUGER_GITOPS_TOKEN", srv.Password)
	_, errOut, code := run(t, "release", "--gitops-repo", url, "--artifact", "examples/artifact.json", "--env", "production", "--cache-dir", t.TempDir(), "--chart-cache", t.TempDir())
	if code != 0 {
		t.Fatalf("release over HTTP: %s", errOut)
	}
	if got := gitOut(t, srv.Dir("gitops"), "log", "--format=%s", "main"); got != "Release frontend 3b18e51 to production" {
		t.Errorf("log = %q", got)
	}
	t.Setenv("AUGER_GITOPS_TOKEN", "ghs_wrongtoken")
	_, errOut, code = run(t, "release", "--gitops-repo", url, "--artifact", "examples/artifact.json", "--env", "staging", "--cache-dir", t.TempDir(), "--chart-cache", t.TempDir())
	if code == 0 || strings.Contains(errOut, "ghs_wrongtoken") || !strings.HasPrefix(errOut, "auger: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("wrong token (%d): %q", code, errOut)
	}
}

func TestBadInputExitsNonZeroAndWritesNothing(t *testing.T) {
	chdirRoot(t)
	dir := t.TempDir()
	gitopsDir := filepath.Join(dir, "gitops")
	cache := []string{"--cache-dir", t.TempDir(), "--chart-cache", t.TempDir()}
	if _, errOut, code := run(t, append([]string{"release", "--gitops-repo", gitopsDir, "--artifact", "examples/artifact.json", "--env", "staging"}, cache...)...); code != 0 {
		t.Fatal(errOut)
	}
	head := gitOut(t, gitopsDir, "rev-parse", "HEAD")

	art, _ := os.ReadFile("examples/artifact.json")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"malformed json": {[]string{"--artifact", write("bad.json", `{"id": "x",`)}, "bad.json"},
		"unknown env":    {[]string{"--artifact", "examples/artifact.json", "--env", "qa"}, `no env config for env "qa"`},
		"unknown app":    {[]string{"--artifact", "examples/artifact.json", "--app", "backend"}, "backend"},
		"bad event":      {[]string{"--artifact", write("event.json", strings.Replace(string(art), `"event": "push"`, `"event": "merge"`, 1))}, "version.event"},
		"not a dns name": {[]string{"--artifact", write("dns.json", strings.Replace(string(art), `"app": "frontend"`, `"app": "../frontend"`, 1))}, "DNS"},
		"template error": {[]string{"--artifact", write("tpl.json", strings.Replace(string(art), `{{ .SHA }}`, `{{ .NOPE }}`, 1))}, "NOPE"},
		"missing chart":  {[]string{"--artifact", write("chart.json", strings.Replace(string(art), `examples/charts/web`, `examples/charts/nope`, 1))}, "examples/charts/nope"},
		"unreachable":    {[]string{"--artifact", "examples/artifact.json", "--gitops-repo", "http://127.0.0.1:1/gitops.git"}, "127.0.0.1:1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"release", "--gitops-repo", gitopsDir, "--env", "staging"}, cache...)
			args = append(args, tc.args...)
			_, errOut, code := run(t, args...)
			if code == 0 {
				t.Fatal("bad input succeeded")
			}
			if !strings.HasPrefix(errOut, "auger: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("message %q should be one line naming %q", errOut, tc.want)
			}
			if got := gitOut(t, gitopsDir, "rev-parse", "HEAD"); got != head {
				t.Errorf("gitops repository moved to %s", got)
			}
		})
	}
}

func TestArtifactCreateAndAdd(t *testing.T) {
	chdirRoot(t)
	out := filepath.Join(t.TempDir(), "artifact.json")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_REPOSITORY", "mycompany/frontend")
	t.Setenv("GITHUB_SHA", "deae5dbaf237766240181fa397e923d3c5253112")
	t.Setenv("GITHUB_REF_NAME", "main")
	t.Setenv("GITHUB_REF", "refs/heads/main")
	t.Setenv("GITHUB_EVENT_NAME", "push")
	t.Setenv("GITHUB_RUN_ID", "42")
	t.Setenv("GITHUB_TOKEN", "ghs_neverinartifacts")
	if _, errOut, code := run(t, "artifact", "create", "--out", out); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	if _, errOut, code := run(t, "artifact", "add", "--artifact", out, "--env-file", "examples/.auger/staging.yaml", "--var", "IMAGE_TAG=abc", "--item", "CI=https://ci.example.com/42"); code != 0 {
		t.Fatalf("add: %s", errOut)
	}
	data, _ := os.ReadFile(out)
	if strings.Contains(string(data), "ghs_neverinartifacts") || strings.Contains(string(data), "GITHUB_TOKEN") {
		t.Fatalf("artifact carries a secret:\n%s", data)
	}
	var a struct {
		ID      string `json:"id"`
		Version struct {
			SHA, Event, Branch string
		} `json:"version"`
		Context      map[string]string `json:"context"`
		Environments []map[string]any  `json:"environments"`
		Items        []map[string]string
	}
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "mycompany/frontend-") || a.Version.SHA != "deae5dbaf237766240181fa397e923d3c5253112" || a.Version.Event != "push" || a.Version.Branch != "main" {
		t.Errorf("artifact version: %+v", a)
	}
	if a.Context["GITHUB_RUN_ID"] != "42" || a.Context["IMAGE_TAG"] != "abc" || len(a.Environments) != 1 || len(a.Items) != 1 {
		t.Errorf("artifact: %s", data)
	}
	if _, errOut, code := run(t, "artifact", "add", "--artifact", out, "--var", "NPM_TOKEN=x"); code == 0 || !strings.Contains(errOut, "secret") {
		t.Errorf("a secret-looking --var was accepted: %s", errOut)
	}
}

func TestRenderAndEnvCreate(t *testing.T) {
	chdirRoot(t)
	out := t.TempDir()
	stdout, errOut, code := run(t, "render", "--artifact", "examples/artifact.json", "--env", "production", "--out", out, "--chart-cache", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "rendered frontend for production") {
		t.Fatalf("render (%d): %s %s", code, stdout, errOut)
	}
	svc, err := os.ReadFile(filepath.Join(out, "frontend", "service-frontend.yaml"))
	if err != nil || !strings.Contains(string(svc), "namespace: production") {
		t.Errorf("rendered service: %s %v", svc, err)
	}
	printed, _, code := run(t, "render", "--artifact", "examples/artifact.json", "--env", "production", "--chart-cache", t.TempDir())
	if code != 0 || !strings.Contains(printed, "# production/frontend/deployment-frontend.yaml") {
		t.Errorf("render to stdout:\n%s", printed)
	}

	gitopsDir := filepath.Join(t.TempDir(), "gitops")
	stdout, errOut, code = run(t, "env", "create", "--gitops-repo", gitopsDir, "--env", "staging", "--path", "clusters/staging",
		"--source-url", "https://github.com/mycompany/gitops.git", "--cache-dir", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "flux/staging/sync.yaml") {
		t.Fatalf("env create (%d): %s %s", code, stdout, errOut)
	}
	sync, _ := os.ReadFile(filepath.Join(gitopsDir, "flux", "staging", "sync.yaml"))
	if !strings.Contains(string(sync), "path: ./clusters/staging") {
		t.Errorf("sync.yaml:\n%s", sync)
	}
	if _, errOut, code = run(t, "env", "create", "--gitops-repo", gitopsDir, "--env", "Staging!", "--cache-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "DNS-1123") {
		t.Errorf("bad env name (%d): %s", code, errOut)
	}
}

// A stage that takes longer than a second (here a chart download from a slow repository)
// is told on stderr, once; with --json nothing but the JSON is printed.
func TestSlowStagesAreToldOnStderr(t *testing.T) {
	chdirRoot(t)
	charts, _ := chartrepo.Serve(t, "examples/charts/web")
	target, _ := url.Parse(charts.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1200 * time.Millisecond) // every request of the download: over a second
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	art, err := os.ReadFile("examples/artifact.json")
	if err != nil {
		t.Fatal(err)
	}
	artifactPath := filepath.Join(t.TempDir(), "artifact.json")
	remote := strings.ReplaceAll(string(art), `"chart": {"name": "examples/charts/web"}`, fmt.Sprintf(`"chart": {"repository": %q, "name": "web", "version": "0.1.0"}`, slow.URL))
	if remote == string(art) {
		t.Fatal("the example artifact no longer names its local chart the way this test expects")
	}
	if err := os.WriteFile(artifactPath, []byte(remote), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, asJSON := range []bool{false, true} {
		args := []string{"release", "--gitops-repo", filepath.Join(t.TempDir(), "gitops"), "--artifact", artifactPath, "--env", "staging",
			"--cache-dir", t.TempDir(), "--chart-cache", t.TempDir()}
		if asJSON {
			args = append(args, "--json")
		}
		_, errOut, code := run(t, args...)
		if code != 0 {
			t.Fatalf("release (json %v) failed: %s", asJSON, errOut)
		}
		told := strings.Count(errOut, "auger: rendering frontend with chart web")
		if asJSON && errOut != "" || !asJSON && told != 1 {
			t.Errorf("stderr (json %v):\n%s", asJSON, errOut)
		}
	}
}
