package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
)

const installationID = 4242

const stagingConfig = `app: frontend
env: staging
namespace: staging
chart: {repository: https://chart.onechart.dev, name: onechart, version: 0.10.0}
deploy: {branch: main, event: push}
values:
  image: {repository: ghcr.io/mycompany/frontend, tag: "{{ .SHA }}"}
  replicas: 2
`

const productionConfig = `app: frontend
env: production
namespace: production
chart: {repository: https://chart.onechart.dev, name: onechart, version: 0.10.0}
values:
  image: {repository: ghcr.io/mycompany/frontend, tag: "{{ .SHA }}"}
`

// world is a GitHub fake with one app repository and a running Auger server.
type world struct {
	fake *githubfake.Fake
	repo *githubfake.Repo
	hook string
	logs *syncBuffer
	srv  *app.Server
}

func newWorld(t testing.TB) *world {
	t.Helper()
	fake := githubfake.New(t)
	fake.AddInstallation(installationID, "mycompany")
	repo := fake.AddRepo("mycompany", "frontend")
	cfgPath := writeFile(t, "auger.yaml", `
github: {pacingUnit: 1ms}
environments:
  - name: staging
    gitops: {repository: mycompany/gitops}
    policyBranches: [main]
  - name: production
    gitops: {repository: mycompany/gitops}
    policyBranches: [main]
`)
	hook, logs, srv := startAuger(t, fake, cfgPath)
	return &world{fake: fake, repo: repo, hook: hook, logs: logs, srv: srv}
}

// startAuger runs Auger against a GitHub fake with the config file and variables
// given, and checks, when the test ends, that no secret reached its logs.
func startAuger(t testing.TB, fake *githubfake.Fake, cfgPath string, env ...string) (string, *syncBuffer, *app.Server) {
	t.Helper()
	cfg, err := app.LoadConfig(cfgPath, append([]string{
		fmt.Sprintf("AUGER_GITHUB_APP_ID=%d", fake.AppID()),
		"AUGER_GITHUB_PRIVATE_KEY=" + string(fake.PrivateKeyPEM()),
		"AUGER_GITHUB_WEBHOOK_SECRET=" + testSecret,
		"AUGER_GITHUB_API_URL=" + fake.URL,
		"AUGER_STATE_DIR=" + t.TempDir(),
	}, env...))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := app.NewServer(cfg, zerolog.New(logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		// Let queued events finish before the test's folders go away.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Drain(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	t.Cleanup(func() {
		for _, secret := range []string{testSecret, "PRIVATE KEY", "ghs_"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
	})
	return ts.URL + "/api/github/hook", logs, srv
}

func (w *world) commit(t testing.TB, files map[string]string) string {
	t.Helper()
	return w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "Show the order history", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com", Files: files})
}

// suiteCompleted delivers check_suite.completed for sha on main, as CI's suite.
func (w *world) suiteCompleted(t testing.TB, sha, delivery string) *http.Response {
	t.Helper()
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, sha)
	suite := p["check_suite"].(map[string]any)
	suite["head_branch"] = "main"
	suite["pull_requests"] = []any{}
	// GitHub describes the suite's head commit; the example describes another one.
	person := map[string]any{"name": "Jane Doe", "email": "jane@example.com"}
	suite["head_commit"] = map[string]any{"id": sha, "tree_id": sha, "message": "Show the order history",
		"timestamp": "2026-11-21T10:00:00Z", "author": person, "committer": person}
	return w.fake.Deliver(t, w.hook, testSecret, "check_suite", delivery, p)
}

func (w *world) augerRuns(sha string) []githubfake.CheckRun {
	var out []githubfake.CheckRun
	for _, cr := range w.repo.CheckRuns(sha) {
		if cr.AppSlug == "auger" {
			out = append(out, cr)
		}
	}
	return out
}

func (w *world) waitForArtifact(t testing.TB, sha string) githubfake.CheckRun {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, cr := range w.augerRuns(sha) {
			if cr.Name == commands.CheckArtifact {
				return cr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q check run on %s; logs:\n%s", commands.CheckArtifact, sha, w.logs.String())
	return githubfake.CheckRun{}
}

func TestRecordArtifactEndToEnd(t *testing.T) {
	w := newWorld(t)
	sha := w.commit(t, map[string]string{".auger/staging.yaml": stagingConfig, ".auger/production.yaml": productionConfig, "README.md": "hi"})
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success", DetailsURL: "https://ci.example.com/build/1"})
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "test", Conclusion: "success"})
	before := len(w.fake.Requests())

	if resp := w.suiteCompleted(t, sha, "delivery-1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	cr := w.waitForArtifact(t, sha)
	if cr.Status != "completed" || cr.Conclusion != "success" {
		t.Errorf("artifact check run %s/%s", cr.Status, cr.Conclusion)
	}
	wantID := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, sha)
	if cr.ExternalID != wantID {
		t.Errorf("external_id = %q, want %q", cr.ExternalID, wantID)
	}
	a, err := commands.ArtifactFromCheckRun(commands.CheckRun{Text: cr.Output.Text})
	if err != nil {
		t.Fatalf("artifact in output.text: %v\n%s", err, cr.Output.Text)
	}
	if a.ID != wantID || a.Version.SHA != sha || a.Version.Event != artifact.EventPush || a.Version.Branch != "main" ||
		a.Version.RepositoryName != "mycompany/frontend" || a.Version.AuthorName != "Jane Doe" || len(a.Environments) != 2 {
		t.Errorf("artifact = %+v", a)
	}
	if a.Context["CHECK_BUILD"] != "success" || len(a.Items) != 2 || a.Items[0].URL != "https://ci.example.com/build/1" {
		t.Errorf("artifact context %v, items %v", a.Context, a.Items)
	}
	for _, want := range []string{"| frontend | staging | staging | onechart 0.10.0 (https://chart.onechart.dev) | will release: ", "| frontend | production |", "no: "} {
		if !strings.Contains(cr.Output.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, cr.Output.Summary)
		}
	}
	// Env config files are read in name order: production.yaml, then staging.yaml.
	if len(cr.Actions) != 2 || cr.Actions[0].Label != "Deploy to production" || cr.Actions[1].Identifier != "deploy:staging" {
		t.Errorf("actions = %+v", cr.Actions)
	}
	time.Sleep(100 * time.Millisecond) // anything late would be counted
	calls := w.fake.Requests()[before:]
	ops := map[string]int{}
	for _, r := range calls {
		ops[r.OperationID]++
	}
	t.Logf("GitHub API calls for one artifact recording: %d %v", len(calls), ops)
	for op, n := range ops {
		if n > 1 && op != "repos/get-content" {
			t.Errorf("%s called %d times for one recording", op, n)
		}
	}
	// The check suite event carries the commit: no request for it.
	if ops["repos/get-commit"] != 0 || ops["repos/get-content"] != 3 {
		t.Errorf("calls = %v; want the .auger/ listing and its two files, and no commit read", ops)
	}

	// Redelivery of the same delivery, and another event for the same commit: nothing new.
	w.suiteCompleted(t, sha, "delivery-1")
	w.suiteCompleted(t, sha, "delivery-2")
	time.Sleep(200 * time.Millisecond)
	if n := len(w.augerRuns(sha)); n != 1 {
		t.Errorf("%d Auger check runs after redeliveries, want 1", n)
	}
	// The check run is the record: no commit status repeats it (docs/github-app.md).
	if s := w.repo.Statuses(sha); len(s) != 0 {
		t.Errorf("statuses = %+v, want none", s)
	}
}

func TestInvalidEnvConfigsFailTheCheckWithAnnotations(t *testing.T) {
	w := newWorld(t)
	broken := "app: frontend\nenv: staging\nnamespace: staging\nchart: {name: onechart, version: 1.0.0, repository: https://chart.onechart.dev}\nreplica: 2\n"
	badName := "app: Front_End\nenv: production\nnamespace: production\nchart: {name: onechart, version: 1.0.0, repository: https://chart.onechart.dev}\n"
	sha := w.commit(t, map[string]string{".auger/staging.yaml": broken, ".auger/production.yaml": badName})
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, sha, "")
	cr := w.waitForArtifact(t, sha)
	if cr.Conclusion != "failure" {
		t.Fatalf("conclusion = %s", cr.Conclusion)
	}
	byFile := map[string]githubfake.Annotation{}
	for _, a := range cr.Output.Annotations {
		byFile[a.Path] = a
	}
	if a := byFile[".auger/staging.yaml"]; a.StartLine != 5 || !strings.Contains(a.Message, "replica") || a.AnnotationLevel != "failure" {
		t.Errorf("staging annotation = %+v (all: %+v)", a, cr.Output.Annotations)
	}
	if a := byFile[".auger/production.yaml"]; a.StartLine != 1 || !strings.Contains(a.Message, "DNS-1123") {
		t.Errorf("production annotation = %+v", a)
	}
	if len(w.repo.Statuses(sha)) != 0 {
		t.Error("an invalid artifact got a status")
	}
}

func TestNothingIsRecordedWithoutConfigOrGreenCI(t *testing.T) {
	w := newWorld(t)
	noConfig := w.commit(t, map[string]string{"README.md": "no auger here"})
	w.repo.AddCheckRun(noConfig, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, noConfig, "")

	pending := w.commit(t, map[string]string{".auger/staging.yaml": stagingConfig})
	w.repo.AddCheckRun(pending, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.repo.AddCheckRun(pending, githubfake.CheckRun{Name: "e2e", Status: "in_progress"})
	w.suiteCompleted(t, pending, "")

	failed := w.commit(t, map[string]string{".auger/staging.yaml": stagingConfig})
	w.repo.AddCheckRun(failed, githubfake.CheckRun{Name: "build", Conclusion: "failure"})
	w.suiteCompleted(t, failed, "")

	// Forged: nothing happens at all.
	forged := w.commit(t, map[string]string{".auger/staging.yaml": stagingConfig})
	w.repo.AddCheckRun(forged, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, forged)
	if resp := w.fake.Deliver(t, w.hook, "not-the-secret", "check_suite", "", p); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged webhook answered %d", resp.StatusCode)
	}

	time.Sleep(300 * time.Millisecond)
	for name, sha := range map[string]string{"no config": noConfig, "pending CI": pending, "failed CI": failed, "forged": forged} {
		if runs := w.augerRuns(sha); len(runs) != 0 {
			t.Errorf("%s: Auger recorded %+v", name, runs)
		}
	}

	// Once the pending check passes (a new run of it), the artifact is recorded.
	w.repo.AddCheckRun(pending, githubfake.CheckRun{Name: "e2e", Conclusion: "success"})
	w.suiteCompleted(t, pending, "")
	if cr := w.waitForArtifact(t, pending); cr.Conclusion != "success" {
		t.Errorf("after CI passed: %s", cr.Conclusion)
	}
}

func TestArtifactUploadedByCI(t *testing.T) {
	w := newWorld(t)
	sha := w.commit(t, map[string]string{"README.md": "built by CI"})
	a := artifact.New(artifact.Version{RepositoryName: "mycompany/frontend", SHA: sha, Branch: "main", Event: artifact.EventPush}, map[string]string{"IMAGE": "ghcr.io/mycompany/frontend:1"})
	ecs, err := artifact.ParseEnvConfigs(".auger/staging.yaml", []byte(stagingConfig))
	if err != nil {
		t.Fatal(err)
	}
	a.Environments = ecs
	data, _ := a.Marshal()

	// `auger artifact push` from CI, with a token (here an installation token of the fake).
	token := installationToken(t, w)
	file := filepath.Join(t.TempDir(), "artifact.json")
	os.WriteFile(file, data, 0o644)
	t.Setenv("GITHUB_TOKEN", token)
	t.Setenv("GITHUB_API_URL", w.fake.URL)
	stdout, stderr, code := run(t, "artifact", "push", "--artifact", file)
	if code != 0 || !strings.Contains(stdout, "uploaded artifact") {
		t.Fatalf("artifact push (%d): %s %s", code, stdout, stderr)
	}
	var upload *githubfake.CheckRun
	for _, cr := range w.repo.CheckRuns(sha) {
		if cr.Name == commands.CheckArtifactUpload {
			upload = &cr
		}
	}
	if upload == nil || !strings.Contains(upload.Output.Text, a.ID) {
		t.Fatalf("upload check run = %+v", upload)
	}

	// In GitHub Actions that run belongs to the github-actions app, not to Auger: the
	// server records from such an upload.
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: commands.CheckArtifactUpload, AppSlug: "github-actions", Conclusion: "neutral", Output: githubfake.CheckRunOutput{
		Title: "Release artifact from CI", Summary: "upload", Text: upload.Output.Text}})
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, sha, "")
	cr := w.waitForArtifact(t, sha)
	got, err := commands.ArtifactFromCheckRun(commands.CheckRun{Text: cr.Output.Text})
	if err != nil || cr.Conclusion != "success" || got.ID != a.ID || got.Context["IMAGE"] != "ghcr.io/mycompany/frontend:1" {
		t.Fatalf("recorded from upload: %s %v %+v", cr.Conclusion, err, got)
	}

	// An upload carrying a secret is refused on the check run, not recorded.
	sha2 := w.commit(t, map[string]string{"README.md": "again"})
	var raw map[string]any
	json.Unmarshal(data, &raw)
	raw["version"].(map[string]any)["sha"] = sha2
	raw["context"] = map[string]any{"NPM_TOKEN": "npm_abc"}
	bad, _ := json.Marshal(raw)
	w.repo.AddCheckRun(sha2, githubfake.CheckRun{Name: commands.CheckArtifactUpload, AppSlug: "github-actions", Conclusion: "neutral", Output: githubfake.CheckRunOutput{
		Title: "upload", Summary: "upload", Text: "```json\n" + string(bad) + "\n```\n"}})
	w.suiteCompleted(t, sha2, "")
	cr2 := w.waitForArtifact(t, sha2)
	if cr2.Conclusion != "failure" || !strings.Contains(cr2.Output.Summary, "NPM_TOKEN") || strings.Contains(cr2.Output.Summary, "npm_abc") {
		t.Errorf("secret upload: %s\n%s", cr2.Conclusion, cr2.Output.Summary)
	}
}

func TestVersionFromPushesAndPullRequests(t *testing.T) {
	w := newWorld(t)
	files := map[string]string{".auger/staging.yaml": stagingConfig}

	// A tag push, then CI's check run completes: the artifact is a tag artifact.
	tagged := w.commit(t, files)
	w.repo.AddTag("v1.2.0", tagged)
	push := githubfake.Payload(t, "push", "")
	w.repo.Retarget(push, tagged)
	push["ref"], push["base_ref"], push["created"] = "refs/tags/v1.2.0", nil, true
	if resp := w.fake.Deliver(t, w.hook, testSecret, "push", "", push); resp.StatusCode != http.StatusOK {
		t.Fatalf("push answered %d", resp.StatusCode)
	}
	time.Sleep(50 * time.Millisecond) // the push is handled before CI finishes, as on GitHub
	w.repo.AddCheckRun(tagged, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	run := githubfake.Payload(t, "check_run", "completed")
	w.repo.Retarget(run, tagged)
	// The run belongs to the tag push's suite, which GitHub names after the tag.
	run["check_run"].(map[string]any)["check_suite"].(map[string]any)["head_branch"] = "v1.2.0"
	w.fake.Deliver(t, w.hook, testSecret, "check_run", "", run)
	a := artifactOf(t, w.waitForArtifact(t, tagged))
	if a.Version.Event != artifact.EventTag || a.Version.Tag != "v1.2.0" {
		t.Errorf("tag artifact version = %+v", a.Version)
	}

	// A pull request's head: a pr artifact with its branches and link.
	head := w.repo.AddCommit(githubfake.Commit{Branch: "new-feature", Message: "feature", Files: files})
	w.repo.AddCheckRun(head, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, head)
	suite := p["check_suite"].(map[string]any)
	suite["head_branch"] = "new-feature"
	suite["pull_requests"] = []any{map[string]any{
		"url": "https://api.github.com/repos/mycompany/frontend/pulls/7", "id": 7, "number": 7,
		"head": map[string]any{"ref": "new-feature", "sha": head, "repo": map[string]any{"id": w.repo.ID, "url": "x", "name": "frontend"}},
		"base": map[string]any{"ref": "main", "sha": head, "repo": map[string]any{"id": w.repo.ID, "url": "x", "name": "frontend"}},
	}}
	w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p)
	a = artifactOf(t, w.waitForArtifact(t, head))
	v := a.Version
	if v.Event != artifact.EventPR || v.SourceBranch != "new-feature" || v.TargetBranch != "main" || v.URL != "https://github.com/mycompany/frontend/pull/7" {
		t.Errorf("pr artifact version = %+v", v)
	}
	// The staging policy wants pushes to main: the summary says why not.
	if cr := w.waitForArtifact(t, head); !strings.Contains(cr.Output.Summary, "no: ") {
		t.Errorf("summary:\n%s", cr.Output.Summary)
	}
}

func artifactOf(t testing.TB, cr githubfake.CheckRun) *artifact.Artifact {
	t.Helper()
	a, err := commands.ArtifactFromCheckRun(commands.CheckRun{Text: cr.Output.Text})
	if err != nil {
		t.Fatalf("artifact of %s (%s): %v", cr.Name, cr.Conclusion, err)
	}
	return a
}

// installationToken is a token of the App's installation, as CI or an operator holds one.
func installationToken(t testing.TB, w *world) string {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, w.fake.AppID(), installationID, w.fake.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(w.fake.URL, "/")
	token, err := tr.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return token
}
