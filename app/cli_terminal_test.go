package app_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/gitops"
)

// releaseExample releases examples/artifact.json to staging of a new gitops repository
// and returns the flags that reach it.
func releaseExample(t *testing.T) []string {
	t.Helper()
	chdirRoot(t)
	repo := []string{"--gitops-repo", filepath.Join(t.TempDir(), "gitops"), "--cache-dir", t.TempDir()}
	if _, stderr, code := run(t, append([]string{"release", "--artifact", "examples/artifact.json", "--env", "staging", "--chart-cache", t.TempDir(), "--triggered-by", "jane"}, repo...)...); code != 0 {
		t.Fatalf("release (%d): %s", code, stderr)
	}
	return repo
}

func decode[T any](t *testing.T, what, stdout string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("%s --json printed no JSON (%v):\n%s", what, err, stdout)
	}
	return v
}

func TestJSONOutputs(t *testing.T) {
	repo := releaseExample(t)
	const sha = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"

	stdout, stderr, code := run(t, append([]string{"releases", "--env", "staging", "--json"}, repo...)...)
	if code != 0 {
		t.Fatalf("releases --json (%d): %s", code, stderr)
	}
	log := decode[[]gitops.Entry](t, "releases", stdout)
	if len(log) != 1 || log[0].App != "frontend" || log[0].Sha != sha || log[0].TriggeredBy != "jane" || log[0].Number != 1 {
		t.Errorf("releases --json = %+v", log)
	}
	stdout, _, _ = run(t, append([]string{"releases", "--env", "production", "--json"}, repo...)...)
	if strings.TrimSpace(stdout) != "[]" {
		t.Errorf("an empty release log is %q, want []", stdout)
	}

	stdout, stderr, code = run(t, append([]string{"status", "--env", "staging", "--json"}, repo...)...)
	if code != 0 {
		t.Fatalf("status --json (%d): %s", code, stderr)
	}
	type status struct {
		Apps []struct {
			App     string       `json:"app"`
			Current gitops.Entry `json:"current"`
			Lock    *gitops.Lock `json:"lock"`
		} `json:"apps"`
		Locks []gitops.Lock `json:"locks"`
	}
	st := decode[status](t, "status", stdout)
	if len(st.Apps) != 1 || st.Apps[0].App != "frontend" || st.Apps[0].Current.Sha != sha || st.Apps[0].Lock != nil || st.Locks == nil {
		t.Errorf("status --json = %s", stdout)
	}

	type rendered struct {
		App, Env, Namespace, Dir string
		Files                    []struct{ Name, Content string }
	}
	chartCache := []string{"--chart-cache", t.TempDir()}
	stdout, stderr, code = run(t, append([]string{"render", "--artifact", "examples/artifact.json", "--env", "staging", "--json"}, chartCache...)...)
	if code != 0 {
		t.Fatalf("render --json (%d): %s", code, stderr)
	}
	r := decode[[]rendered](t, "render", stdout)
	if len(r) != 1 || r[0].App != "frontend" || r[0].Env != "staging" || len(r[0].Files) == 0 {
		t.Fatalf("render --json = %s", stdout)
	}
	var deployment string
	for _, f := range r[0].Files {
		if f.Name == "deployment-frontend.yaml" {
			deployment = f.Content
		}
	}
	if !strings.Contains(deployment, "ghcr.io/mycompany/frontend:"+sha) {
		t.Errorf("render --json: the deployment's content lacks the image:\n%s", stdout)
	}
	out := t.TempDir()
	stdout, _, code = run(t, append([]string{"render", "--artifact", "examples/artifact.json", "--env", "staging", "--json", "--out", out}, chartCache...)...)
	r = decode[[]rendered](t, "render --out", stdout)
	if code != 0 || len(r) != 1 || r[0].Dir != filepath.Join(out, "frontend") || r[0].Files[0].Content != "" {
		t.Errorf("render --json --out (%d) = %s", code, stdout)
	}
}

// Every command that prints records takes the same --json flag.
func TestEveryRecordCommandHasJSON(t *testing.T) {
	root := app.NewRootCommand(nil, nil)
	for _, path := range [][]string{{"releases"}, {"status"}, {"render"}, {"release"}, {"rollback"}, {"version"}} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Name() != path[len(path)-1] {
			t.Fatalf("no command %v: %v", path, err)
		}
		f := cmd.Flags().Lookup("json")
		if f == nil || f.Value.Type() != "bool" || !strings.HasPrefix(f.Usage, "print ") || !strings.HasSuffix(f.Usage, " as JSON instead of a table") {
			t.Errorf("%s: --json = %+v", cmd.CommandPath(), f)
		}
	}
	walk(root, func(c *cobra.Command) {
		f := c.Flags().Lookup("json")
		if f != nil && f.Value.Type() != "bool" {
			t.Errorf("%s: --json is a %s", c.CommandPath(), f.Value.Type())
		}
		// `auger diff` prints records too; it takes the same switch (jsonOutput).
		if c.Name() == "diff" && f == nil {
			t.Errorf("%s has no --json", c.CommandPath())
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

func TestExitCodes(t *testing.T) {
	repo := releaseExample(t)
	// Lock staging, as /lock would.
	r, err := gitops.Open(gitops.Remote{URL: repo[1]}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(context.Background(), gitops.Lock{Env: "staging", By: "jane", Reason: "incident", Time: time.Now()}, gitops.Actor{TriggeredBy: "jane"}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		code int
		msg  string
	}{
		"ok":                    {[]string{"version"}, app.ExitOK, ""},
		"unknown command":       {[]string{"relase"}, app.ExitUsage, `unknown command "relase"`},
		"unknown flag":          {[]string{"releases", "--envv", "x"}, app.ExitUsage, "unknown flag: --envv"},
		"missing required flag": {[]string{"releases", "--gitops-repo", repo[1]}, app.ExitUsage, `"env" not set`},
		"unexpected argument":   {[]string{"version", "now"}, app.ExitUsage, `unknown command "now"`},
		"bad flag value":        {[]string{"status", "--env", "staging", "--stale=maybe"}, app.ExitUsage, "invalid argument"},
		"failure":               {[]string{"render", "--artifact", "no-such.json", "--env", "staging"}, app.ExitFailure, "no-such.json"},
		"locked": {append([]string{"rollback", "--env", "staging", "--app", "frontend", "--to", "1"}, repo...), app.ExitLocked,
			"staging is locked by jane"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("auger %v: exit %d, want %d; stderr %q (want %q)", tc.args, code, tc.code, stderr, tc.msg)
			}
		})
	}
}

func TestShellCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		stdout, stderr, code := run(t, "completion", shell)
		if code != 0 || !strings.Contains(stdout, "auger") || len(stdout) < 500 {
			t.Errorf("completion %s (%d): %s %.200s", shell, code, stderr, stdout)
		}
	}
	// What the shell asks when the user presses tab after "auger releases --": the
	// required flags first, then, once given, the others.
	stdout, _, code := run(t, "__complete", "releases", "--")
	for _, want := range []string{"--gitops-repo", "--env"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("completing `auger releases --` lacks %s:\n%s", want, stdout)
		}
	}
	stdout, _, _ = run(t, "__complete", "releases", "--env", "staging", "--gitops-repo", "g", "--j")
	if !strings.HasPrefix(stdout, "--json\t") {
		t.Errorf("completing `auger releases ... --j`:\n%s", stdout)
	}
	stdout, _, _ = run(t, "__complete", "artifact", "create", "--event", "")
	if !strings.HasPrefix(stdout, "push\npr\ntag\n") {
		t.Errorf("completing `auger artifact create --event `:\n%s", stdout)
	}
	stdout, _, _ = run(t, "__complete", "render", "--artifact", "")
	if !strings.HasPrefix(stdout, "json\n") {
		t.Errorf("completing `auger render --artifact ` should offer .json files:\n%s", stdout)
	}
	stdout, _, _ = run(t, "__complete", "arti")
	if !strings.HasPrefix(stdout, "artifact\t") {
		t.Errorf("completing `auger arti`:\n%s", stdout)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	stdout, _, code := run(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "auger ") || !strings.Contains(stdout, "go      "+runtime.Version()) || !strings.Contains(stdout, "commit  ") {
		t.Errorf("version (%d):\n%s", code, stdout)
	}
	stdout, _, _ = run(t, "version", "--json")
	v := decode[struct{ Version, Go string }](t, "version", stdout)
	if v.Version == "" || v.Go != runtime.Version() {
		t.Errorf("version --json = %s", stdout)
	}
	// The module version and commit of a real build are checked on the binary the
	// GitHub Action builds (TestCI).
}
