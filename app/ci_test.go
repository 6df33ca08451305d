package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
	"github.com/auger-dev/auger/internal/snippet"
)

// The GitHub Action (action.yml) and the README's CI snippets, run here as CI runs them: the
// action's steps by a small composite-action runner with the variables a GitHub Actions
// runner sets, the CircleCI and GitLab CI snippets' commands by bash with those CIs'
// variables. Their uploads go to the GitHub fake and Auger records them.
func TestCI(t *testing.T) {
	chdirRoot(t)
	root, _ := os.Getwd()
	w := newWorld(t)
	runner := &actionRunner{t: t, root: root, temp: t.TempDir()}

	// The action's install step builds the binary every later subtest uses.
	var action actionFile
	readYAML(t, "action.yml", &action)
	workflow := snippet.Get(t, "README.md", "github-actions")
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string            `yaml:"id"`
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
				Run  string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(workflow), &wf); err != nil {
		t.Fatalf("README workflow: %v", err)
	}
	var with map[string]string
	var ref string
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			if name, r, ok := strings.Cut(step.Uses, "@"); ok && name == "auger-dev/auger" {
				with, ref = step.With, r
			}
		}
	}
	if ref == "" {
		t.Fatalf("the README workflow does not use auger-dev/auger@<ref>:\n%s", workflow)
	}

	// The README's path from an empty repository: its first env config, its workflow.
	firstConfig := snippet.Get(t, "README.md", "first-env-config")
	sha := w.commit(t, map[string]string{".auger/staging.yaml": firstConfig})
	checkout := appCheckout(t, firstConfig)
	runnerEnv := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SHA": sha, "GITHUB_REPOSITORY": "mycompany/frontend",
		"GITHUB_REPOSITORY_OWNER": "mycompany", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
		"GITHUB_EVENT_NAME": "push", "GITHUB_RUN_ID": "7001", "GITHUB_RUN_NUMBER": "12", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_ACTOR": "jane", "GITHUB_WORKFLOW": "build", "GITHUB_JOB": "build", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_API_URL": w.fake.URL, "GITHUB_WORKSPACE": checkout, "GITHUB_EVENT_PATH": writeFile(t, "event.json", fmt.Sprintf(`{"after": %q, "ref": "refs/heads/main", "head_commit": {"id": %[1]q,
			"message": "Show the order history\n", "author": {"name": "Jane Doe", "email": "jane@example.com"}, "committer": {"name": "GitHub", "email": "noreply@github.com"}}}`, sha)),
		"RUNNER_TEMP": runner.temp, "RUNNER_OS": "Linux",
	}
	// What the expressions of the README's `with:` and of action.yml may read.
	token := w.fake.WorkflowToken("mycompany", "frontend")
	contexts := map[string]string{"github.sha": sha, "github.token": token, "github.action_ref": ref, "github.action_path": root}
	for k, v := range with {
		with[k] = runner.expand(v, contexts)
	}
	outputs := runner.run(action, with, contexts, runnerEnv, checkout)

	t.Run("install", func(t *testing.T) {
		bin := runner.bin
		if bin == "" || !strings.HasPrefix(bin, runner.temp) {
			t.Fatalf("the install step put no auger on the PATH of later steps (GITHUB_PATH): %q", bin)
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "auger "+ref+"\n") || !strings.Contains(string(out), "module  github.com/auger-dev/auger") {
			t.Errorf("auger version of the action's build (%v):\n%s", err, out)
		}
		// Built from a git clone, the commit is in the build info. The Go toolchain
		// does not stamp a git worktree (.git is a file there), nor the action's folder on
		// a runner (GitHub unpacks it without .git): then it says so.
		want := "commit  unknown"
		if info, err := os.Stat(".git"); err == nil && info.IsDir() {
			head, err := exec.Command("git", "rev-parse", "HEAD").Output()
			if err != nil {
				t.Fatal(err)
			}
			want = "commit  " + strings.TrimSpace(string(head))
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("auger version lacks %q:\n%s", want, out)
		}
	})

	t.Run("github action", func(t *testing.T) {
		id := outputs["artifact-id"]
		if !strings.HasPrefix(id, "mycompany/frontend-") || outputs["artifact-file"] == "" {
			t.Fatalf("action outputs = %v", outputs)
		}
		upload := uploadOf(t, w, sha)
		if upload.AppSlug != "github-actions" || upload.ExternalID != id {
			t.Errorf("the upload check run belongs to %q with external id %q, want github-actions and %q", upload.AppSlug, upload.ExternalID, id)
		}
		a := artifactOf(t, upload)
		image := "ghcr.io/mycompany/frontend:" + sha
		if a.Version.SHA != sha || a.Version.Branch != "main" || a.Version.Event != "push" || a.Context["IMAGE"] != image || a.Context["GITHUB_RUN_ID"] != "7001" ||
			a.Version.Message != "Show the order history" || a.Version.AuthorEmail != "jane@example.com" || a.Version.CommitterName != "GitHub" ||
			len(a.Environments) != 1 || a.Environments[0].Env != "staging" || len(a.Items) != 1 || a.Items[0].URL != image {
			t.Errorf("uploaded artifact = %+v", a)
		}
		for _, v := range a.Context {
			if strings.Contains(v, token) {
				t.Errorf("the artifact's context holds the token")
			}
		}
		recorded := recordAfterCI(t, w, sha)
		if recorded.ID != id || recorded.Context["IMAGE"] != image {
			t.Errorf("recorded %+v, want the upload %s", recorded, id)
		}
		// Step 5 of the README's path: the first env config's policy takes this push.
		if !strings.Contains(recorded.Summary, "| frontend | staging | staging |") || !strings.Contains(recorded.Summary, `will release: push to main matches branch "main"`) {
			t.Errorf("the artifact check run does not announce the staging policy:\n%s", recorded.Summary)
		}
	})

	// On pull_request events GITHUB_SHA is GitHub's test merge commit: the artifact is the
	// pull request head's, as the event payload says.
	t.Run("github action on a pull request", func(t *testing.T) {
		head := w.repo.AddCommit(githubfake.Commit{Branch: "new-feature", Message: "feature", Files: map[string]string{".auger/staging.yaml": firstConfig}})
		event := writeFile(t, "pr.json", fmt.Sprintf(`{"action": "synchronize", "number": 7, "pull_request": {"number": 7,
			"html_url": "https://github.com/mycompany/frontend/pull/7", "head": {"sha": %q, "ref": "new-feature"}, "base": {"ref": "main"}}}`, head))
		env := copyEnv(runnerEnv, "GITHUB_SHA", "1111111111111111111111111111111111111111", "GITHUB_EVENT_NAME", "pull_request",
			"GITHUB_REF", "refs/pull/7/merge", "GITHUB_REF_NAME", "7/merge", "GITHUB_REF_TYPE", "", "GITHUB_HEAD_REF", "new-feature",
			"GITHUB_BASE_REF", "main", "GITHUB_EVENT_PATH", event)
		out := runner.run(action, with, contexts, env, checkout)
		upload := uploadOf(t, w, head)
		a := artifactOf(t, upload)
		if upload.ExternalID != out["artifact-id"] || a.Version.SHA != head || a.Version.Event != "pr" || a.Version.SourceBranch != "new-feature" ||
			a.Version.TargetBranch != "main" || a.Version.URL != "https://github.com/mycompany/frontend/pull/7" {
			t.Errorf("pull request artifact = %+v", a.Version)
		}
	})

	t.Run("github action push false", func(t *testing.T) {
		sha := w.commit(t, map[string]string{"README.md": "no push"})
		env := copyEnv(runnerEnv, "GITHUB_SHA", sha)
		out := runner.run(action, map[string]string{"push": "false", "env-dir": "none"}, contexts, env, checkout)
		if _, err := os.Stat(out["artifact-file"]); err != nil || out["artifact-id"] == "" {
			t.Errorf("push: false wrote no artifact: %v %v", out, err)
		}
		if runs := w.repo.CheckRuns(sha); len(runs) != 0 {
			t.Errorf("push: false uploaded %+v", runs)
		}
	})

	t.Run("github action bad input", func(t *testing.T) {
		for input, want := range map[string]string{"INPUT_PUSH=maybe": `input push: want true or false, got "maybe"`, "INPUT_VARS=NPM_TOKEN=x": "::error title=auger artifact add::auger: --var NPM_TOKEN: looks like a secret",
			"GITHUB_EVENT_PATH=" + writeFile(t, "bad.json", "<html>"): "not a GitHub event payload", "INPUT_ENV_FILES=.auger/missing.yaml": "missing.yaml"} {
			c := exec.Command("bash", filepath.Join(root, "action", "run.sh"))
			c.Dir = checkout
			c.Env = append(envList(copyEnv(runnerEnv, "PATH", filepath.Dir(runner.bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_TOKEN", token)), input)
			out, err := c.CombinedOutput()
			if err == nil || !strings.Contains(string(out), want) {
				t.Errorf("%s: %v\n%s", input, err, out)
			}
		}
	})

	env := func(pairs ...string) map[string]string {
		m := map[string]string{"PATH": filepath.Dir(runner.bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME": t.TempDir(),
			"GITHUB_TOKEN": w.fake.WorkflowToken("mycompany", "frontend"), "GITHUB_API_URL": w.fake.URL}
		for i := 0; i+1 < len(pairs); i += 2 {
			m[pairs[i]] = pairs[i+1]
		}
		return m
	}
	t.Run("circleci", func(t *testing.T) {
		var cfg struct {
			Jobs map[string]struct {
				Steps []any `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal([]byte(snippet.Get(t, "README.md", "circleci")), &cfg); err != nil {
			t.Fatal(err)
		}
		var script []string
		for _, job := range cfg.Jobs {
			for _, step := range job.Steps {
				if m, ok := step.(map[string]any); ok {
					switch run := m["run"].(type) {
					case string:
						script = append(script, run)
					case map[string]any:
						script = append(script, fmt.Sprint(run["command"]))
					}
				}
			}
		}
		sha := w.commit(t, map[string]string{".auger/staging.yaml": firstConfig})
		build := "https://circleci.com/gh/mycompany/frontend/2254"
		runScript(t, script, checkout, env("CI", "true", "CIRCLECI", "true", "CIRCLE_SHA1", sha, "CIRCLE_BRANCH", "main",
			"CIRCLE_PROJECT_USERNAME", "mycompany", "CIRCLE_PROJECT_REPONAME", "frontend", "CIRCLE_BUILD_NUM", "2254", "CIRCLE_BUILD_URL", build))
		a := artifactOf(t, uploadOf(t, w, sha))
		if a.Version.SHA != sha || a.Version.Branch != "main" || a.Context["CIRCLE_BUILD_NUM"] != "2254" || len(a.Items) != 1 || a.Items[0].URL != build || len(a.Environments) != 1 {
			t.Errorf("CircleCI artifact = %+v", a)
		}
		if recorded := recordAfterCI(t, w, sha); recorded.ID != a.ID {
			t.Errorf("recorded %s, want the upload %s", recorded.ID, a.ID)
		}
	})

	t.Run("gitlab-ci", func(t *testing.T) {
		var cfg map[string]struct {
			Script []string `yaml:"script"`
		}
		if err := yaml.Unmarshal([]byte(snippet.Get(t, "README.md", "gitlab-ci")), &cfg); err != nil {
			t.Fatal(err)
		}
		var script []string
		for _, job := range cfg {
			script = append(script, job.Script...)
		}
		sha := w.commit(t, map[string]string{".auger/staging.yaml": firstConfig})
		job := "https://gitlab.com/mycompany/frontend/-/jobs/99"
		runScript(t, script, checkout, env("CI", "true", "GITLAB_CI", "true", "CI_COMMIT_SHA", sha, "CI_COMMIT_BRANCH", "main",
			"CI_PROJECT_PATH", "mycompany/frontend", "CI_PROJECT_URL", "https://gitlab.com/mycompany/frontend", "CI_JOB_URL", job,
			"CI_COMMIT_MESSAGE", "Show the order history", "CI_COMMIT_AUTHOR", "Jane Doe <jane@example.com>"))
		a := artifactOf(t, uploadOf(t, w, sha))
		if a.Version.SHA != sha || a.Version.Branch != "main" || a.Version.AuthorEmail != "jane@example.com" || a.Context["CI_JOB_URL"] != job || len(a.Items) != 1 || a.Items[0].URL != job {
			t.Errorf("GitLab CI artifact = %+v", a)
		}
		if recorded := recordAfterCI(t, w, sha); recorded.ID != a.ID {
			t.Errorf("recorded %s, want the upload %s", recorded.ID, a.ID)
		}
	})
}

// appCheckout is the app repository as CI checks it out: an empty repository but for
// .auger/staging.yaml.
func appCheckout(t *testing.T, envConfig string) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".auger"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".auger", "staging.yaml"), []byte(envConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyEnv(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// uploadOf is the "Auger: artifact upload" check run on sha.
func uploadOf(t *testing.T, w *world, sha string) githubfake.CheckRun {
	t.Helper()
	for _, cr := range w.repo.CheckRuns(sha) {
		if cr.Name == commands.CheckArtifactUpload {
			return cr
		}
	}
	t.Fatalf("no %q check run on %s: %+v", commands.CheckArtifactUpload, sha, w.repo.CheckRuns(sha))
	return githubfake.CheckRun{}
}

// recordAfterCI lets CI pass on sha and returns the artifact Auger records.
func recordAfterCI(t *testing.T, w *world, sha string) (a recordedArtifact) {
	t.Helper()
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, sha, "")
	cr := w.waitForArtifact(t, sha)
	if cr.Conclusion != "success" {
		t.Fatalf("%s on %s: %s\n%s", commands.CheckArtifact, sha, cr.Conclusion, cr.Output.Summary)
	}
	got := artifactOf(t, cr)
	return recordedArtifact{ID: got.ID, Context: got.Context, Summary: cr.Output.Summary}
}

type recordedArtifact struct {
	ID      string
	Context map[string]string
	Summary string
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runScript runs a CI snippet's commands as the CI would, each in bash -e; installing
// auger (`go install github.com/auger-dev/auger@vX`) is checked, not run: the test
// has built the same module already.
func runScript(t *testing.T, script []string, dir string, env map[string]string) {
	t.Helper()
	ran := 0
	for _, cmd := range script {
		if strings.HasPrefix(cmd, "go install ") {
			if !regexp.MustCompile(`^go install github\.com/auger-dev/auger@v\d+\.\d+\.\d+\s*$`).MatchString(cmd) {
				t.Errorf("the snippet installs %q, not this module at a version", cmd)
			}
			continue
		}
		c := exec.Command("bash", "-e", "-c", cmd)
		c.Dir, c.Env = dir, envList(env)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		ran++
	}
	if ran == 0 {
		t.Fatalf("the snippet runs no auger command: %q", script)
	}
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// actionFile is the part of action.yml a composite-action runner reads.
type actionFile struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID               string            `yaml:"id"`
			If               string            `yaml:"if"`
			Uses             string            `yaml:"uses"`
			Shell            string            `yaml:"shell"`
			Run              string            `yaml:"run"`
			Env              map[string]string `yaml:"env"`
			WorkingDirectory string            `yaml:"working-directory"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// actionRunner runs a composite action's steps as a GitHub Actions runner does: expressions
// from inputs, github and steps contexts; a GITHUB_OUTPUT file per step; GITHUB_PATH
// entries prepended to later steps' PATH. Steps that use other actions are not run (the
// only one is actions/setup-go, and Go is here).
type actionRunner struct {
	t    *testing.T
	root string
	temp string
	// bin is the auger the install step put on the PATH.
	bin string
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand evaluates ${{ context.name }} expressions; anything else fails the test, so an
// expression the runner here cannot evaluate is never passed through silently.
func (r *actionRunner) expand(s string, contexts map[string]string) string {
	return expression.ReplaceAllStringFunc(s, func(e string) string {
		name := expression.FindStringSubmatch(e)[1]
		v, ok := contexts[name]
		if !ok {
			r.t.Fatalf("expression %s: this runner knows %v", e, keys(contexts))
		}
		return v
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (r *actionRunner) run(action actionFile, with, github, env map[string]string, workspace string) map[string]string {
	t := r.t
	t.Helper()
	if action.Runs.Using != "composite" {
		t.Fatalf("action.yml runs using %q, want composite", action.Runs.Using)
	}
	contexts := map[string]string{}
	for k, v := range github {
		contexts[k] = v
	}
	for name := range with {
		if _, ok := action.Inputs[name]; !ok {
			t.Fatalf("with: %s is not an input of action.yml", name)
		}
	}
	for name, in := range action.Inputs {
		v, ok := with[name]
		if !ok {
			v = r.expand(in.Default, contexts)
		}
		contexts["inputs."+name] = v
	}
	path := filepath.Join(t.TempDir(), "path")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, step := range action.Runs.Steps {
		if step.Uses != "" {
			if !strings.HasPrefix(step.Uses, "actions/setup-go@") {
				t.Fatalf("step %d uses %s, which this runner does not run", i, step.Uses)
			}
			continue
		}
		if step.Shell != "bash" {
			t.Fatalf("step %d: shell %q, want bash", i, step.Shell)
		}
		if strings.Contains(step.Run, "${{") {
			t.Fatalf("step %d splices expressions into its script (script injection): %s", i, step.Run)
		}
		output := filepath.Join(t.TempDir(), "output")
		if err := os.WriteFile(output, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		stepEnv := copyEnv(env, "GITHUB_ACTION_PATH", r.root, "GITHUB_OUTPUT", output, "GITHUB_PATH", path, "HOME", os.Getenv("HOME"))
		pathDirs, _ := os.ReadFile(path)
		dirs := strings.Fields(string(pathDirs))
		stepEnv["PATH"] = strings.Join(append(dirs, os.Getenv("PATH")), string(os.PathListSeparator))
		for _, k := range []string{"GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN"} {
			if v, ok := os.LookupEnv(k); ok {
				stepEnv[k] = v
			}
		}
		for k, v := range step.Env {
			stepEnv[k] = r.expand(v, contexts)
		}
		c := exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step.Run)
		c.Dir = workspace
		if step.WorkingDirectory != "" {
			c.Dir = filepath.Join(workspace, r.expand(step.WorkingDirectory, contexts))
		}
		c.Env = envList(stepEnv)
		began := time.Now()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("action step %d (%s): %v\n%s", i, step.Run, err, out)
		}
		t.Logf("action step %d (%s) took %v", i, step.Run, time.Since(began).Round(time.Millisecond))
		if strings.Contains(string(out), github["github.token"]) {
			t.Errorf("step %d printed the token", i)
		}
		written, _ := os.ReadFile(output)
		for _, line := range strings.Split(strings.TrimSpace(string(written)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && step.ID != "" {
				contexts["steps."+step.ID+".outputs."+k] = v
			}
		}
	}
	if dirs, _ := os.ReadFile(path); len(dirs) > 0 {
		r.bin = filepath.Join(strings.Fields(string(dirs))[0], "auger")
	}
	outputs := map[string]string{}
	for name, o := range action.Outputs {
		outputs[name] = r.expand(o.Value, contexts)
	}
	return outputs
}
