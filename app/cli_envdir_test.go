package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

// `auger artifact add --env-dir .auger` reads the folder as the server does: its .yaml
// and .yml files in name order and nothing else, every problem at once with file and
// line; --env-file adds after it, replacing the same app and env.
func TestArtifactAddEnvDir(t *testing.T) {
	dir := t.TempDir()
	ec := func(app, namespace string) string {
		return "app: " + app + "\nenv: staging\nnamespace: " + namespace + "\nchart: {repository: https://charts.example.com, name: web, version: 0.1.0}\n"
	}
	envDir := filepath.Join(dir, ".auger")
	os.MkdirAll(envDir, 0o755)
	for name, content := range map[string]string{
		"b.yml":     ec("worker", "staging"),
		"a.yaml":    ec("api", "staging"),
		"README.md": "Env configs of this repository.\n",
		"old.json":  `{"app": "old", "env": "staging", "namespace": "staging", "chart": {"name": "web"}}`,
	} {
		os.WriteFile(filepath.Join(envDir, name), []byte(content), 0o644)
	}
	override := filepath.Join(dir, "api.yaml")
	os.WriteFile(override, []byte(ec("api", "api-ns")), 0o644)
	out := filepath.Join(dir, "artifact.json")
	if _, errOut, code := run(t, "artifact", "create", "--out", out, "--repository", "mycompany/frontend", "--sha", "deae5dbaf237766240181fa397e923d3c5253112",
		"--branch", "main", "--event", "push"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	stdout, errOut, code := run(t, "artifact", "add", "--artifact", out, "--env-dir", envDir, "--env-file", override)
	if code != 0 || !strings.Contains(stdout, "2 env configs") {
		t.Fatalf("add --env-dir (%d): %s %s", code, stdout, errOut)
	}
	data, _ := os.ReadFile(out)
	a, err := artifact.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range a.Environments {
		got = append(got, e.App+"/"+e.Namespace)
	}
	if strings.Join(got, " ") != "api/api-ns worker/staging" {
		t.Errorf("environments = %v", got)
	}

	// A broken file: nothing is added, and every problem is told.
	os.WriteFile(filepath.Join(envDir, "c.yaml"), []byte(ec("cron", "staging")+"replica: 2\n"), 0o644)
	os.WriteFile(filepath.Join(envDir, "d.yaml"), []byte("# again\n"+ec("api", "other")), 0o644)
	_, errOut, code = run(t, "artifact", "add", "--artifact", out, "--env-dir", envDir)
	if code == 0 || !strings.Contains(errOut, `.auger/c.yaml:5: unknown field "replica"`) || !strings.Contains(errOut, `.auger/d.yaml:2: same app "api" and env "staging" as .auger/a.yaml:1`) {
		t.Errorf("add --env-dir with problems (%d): %s", code, errOut)
	}
	if after, _ := os.ReadFile(out); string(after) != string(data) {
		t.Error("a failed add changed the artifact")
	}
	if _, errOut, code := run(t, "artifact", "add", "--artifact", out, "--env-dir", filepath.Join(dir, "nowhere")); code == 0 || !strings.Contains(errOut, "no nowhere/ folder") {
		t.Errorf("add --env-dir of a missing folder (%d): %s", code, errOut)
	}
}
