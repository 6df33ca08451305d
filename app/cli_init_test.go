package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/chartrepo"
)

// `auger init` writes an env config that the server's rules accept, that renders, and
// that releases once an artifact carries it; it keeps an existing file unless --force.
func TestInitWritesAReleasableEnvConfig(t *testing.T) {
	repo := t.TempDir()
	gitOut(t, repo, "init", "-q")
	gitOut(t, repo, "remote", "add", "origin", "https://github.com/Acme/Shop.git")
	dir := filepath.Join(repo, ".auger")
	chartCache := t.TempDir()
	initArgs := []string{"init", "--env", "staging", "--chart", chartrepo.AppChart(t), "--dir", dir, "--chart-cache", chartCache}

	out, errOut, code := run(t, initArgs...)
	if code != 0 {
		t.Fatalf("init failed (%d): %s", code, errOut)
	}
	if !strings.Contains(out, "shop in staging") || !strings.Contains(out, "renders 4 objects") {
		t.Errorf("init output: %s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"app: shop\n", "namespace: staging\n",
		"    repository: ghcr.io/acme/shop\n", "    tag: '{{ .SHA }}'\n", // the image, templated from the commit
		"  # The port your app is listening on\n  containerPort: 80\n", // the chart's default, with the schema's description
		"    host: shop.staging.example.com\n",
		"# deploy:\n#   branch: main\n#   event: push\n", // the policy, commented out
	} {
		if !strings.Contains(text, want) {
			t.Errorf("env config lacks %q:\n%s", want, text)
		}
	}

	// Released: an artifact of a commit carries it, and the image tag is that commit.
	configs, err := artifact.LoadEnvConfigDir(dir)
	if err != nil {
		t.Fatalf("the server's rules refuse what init wrote: %v", err)
	}
	const sha = "deae5dbaf237766240181fa397e923d3c5253112"
	a := artifact.New(artifact.Version{RepositoryName: "acme/shop", SHA: sha, Branch: "main", Event: artifact.EventPush}, nil)
	a.Environments = configs
	body, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	artifactFile := filepath.Join(t.TempDir(), "artifact.json")
	if err := os.WriteFile(artifactFile, body, 0o644); err != nil {
		t.Fatal(err)
	}
	gitopsDir := filepath.Join(t.TempDir(), "gitops")
	if _, errOut, code := run(t, "release", "--gitops-repo", gitopsDir, "--artifact", artifactFile, "--env", "staging", "--cache-dir", t.TempDir(), "--chart-cache", chartCache); code != 0 {
		t.Fatalf("release failed (%d): %s", code, errOut)
	}
	deployment, err := os.ReadFile(filepath.Join(gitopsDir, "staging", "shop", "deployment-shop.yaml"))
	if err != nil || !strings.Contains(string(deployment), "image: ghcr.io/acme/shop:"+sha) {
		t.Errorf("released deployment (%v):\n%s", err, deployment)
	}

	// An existing file is kept, unless --force.
	if err := os.WriteFile(filepath.Join(dir, "staging.yaml"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, initArgs...); code == 0 || !strings.Contains(errOut, "already exists; edit it, or run again with --force") {
		t.Errorf("init over an existing file: code %d, %s", code, errOut)
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, "staging.yaml")); string(kept) != "# mine\n" {
		t.Errorf("the existing file was changed: %q", kept)
	}
	if _, errOut, code := run(t, append(initArgs, "--force")...); code != 0 {
		t.Errorf("init --force failed: %s", errOut)
	}
}

// What does not render is not written, and the reason is told.
func TestInitRefusesWhatDoesNotRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".auger")
	tests := map[string]struct {
		args []string
		want string
	}{
		"a chart that is not there": {args: []string{"--chart", filepath.Join(t.TempDir(), "nope")}, want: "nope"},
		"a chart without a version": {args: []string{"--chart", "https://chart.onechart.dev/onechart"}, want: "--chart: chart \"https://chart.onechart.dev/onechart\" has no version"},
		"an app name Kubernetes refuses": {args: []string{"--chart", chartrepo.AppChart(t), "--app", "Shop_Web"},
			want: "does not render; nothing was written"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, errOut, code := run(t, append([]string{"init", "--env", "staging", "--dir", dir, "--chart-cache", t.TempDir()}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("code %d, stderr %q; want %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "staging.yaml")); err == nil {
				t.Error("a file was written")
			}
		})
	}
}

// `auger diff` exits like diff: 0 when a release would change nothing, 1 when it
// would (the diff on stdout), 2 on trouble; it writes nothing.
func TestDiffExitCodes(t *testing.T) {
	chdirRoot(t)
	gitopsDir := filepath.Join(t.TempDir(), "gitops")
	flags := []string{"--gitops-repo", gitopsDir, "--env", "staging", "--cache-dir", t.TempDir(), "--chart-cache", t.TempDir()}
	if _, errOut, code := run(t, append([]string{"diff", "--artifact", "examples/artifact.json"}, flags...)...); code != 2 || !strings.Contains(errOut, "no gitops repository at") {
		t.Errorf("diff against a missing repository: code %d, %s", code, errOut)
	}
	if _, err := os.Stat(gitopsDir); err == nil {
		t.Error("diff created the gitops repository")
	}
	if _, errOut, code := run(t, append([]string{"release", "--artifact", "examples/artifact.json"}, flags...)...); code != 0 {
		t.Fatalf("release: %s", errOut)
	}
	head := gitOut(t, gitopsDir, "rev-parse", "HEAD")

	out, errOut, code := run(t, append([]string{"diff", "--artifact", "examples/artifact.json"}, flags...)...)
	if code != 0 || out != "no change in staging\n" {
		t.Errorf("diff of the released artifact: code %d, %q %s", code, out, errOut)
	}
	changed, err := os.ReadFile("examples/artifact.json")
	if err != nil {
		t.Fatal(err)
	}
	artifactFile := filepath.Join(t.TempDir(), "artifact.json")
	if err := os.WriteFile(artifactFile, []byte(strings.Replace(string(changed), `"replicas": 2,`, `"replicas": 4,`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, append([]string{"diff", "--artifact", artifactFile, "--app", "frontend"}, flags...)...)
	if code != 1 || !strings.HasPrefix(out, "1 object changes in staging (1 changed)\n\n~ staging/frontend/deployment-frontend.yaml (changed)\n") || !strings.Contains(out, "-  replicas: 2\n+  replicas: 4\n") {
		t.Errorf("diff of a changed artifact: code %d\n%s", code, out)
	}
	for name, args := range map[string][]string{
		"unknown flag": {"diff", "--artifact", artifactFile, "--bogus"},
		"no env":       {"diff", "--artifact", artifactFile, "--gitops-repo", gitopsDir},
		"unknown env":  append([]string{"diff", "--artifact", artifactFile}, append(flags, "--env", "nope")...),
	} {
		if _, errOut, code := run(t, args...); code != 2 || errOut == "" {
			t.Errorf("%s: code %d, %q; want 2 and a reason", name, code, errOut)
		}
	}
	if now := gitOut(t, gitopsDir, "rev-parse", "HEAD"); now != head {
		t.Error("diff moved the gitops repository")
	}
}
