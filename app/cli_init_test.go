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
