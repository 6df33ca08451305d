package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/gitserver"
)

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Jane", "GIT_AUTHOR_EMAIL=jane@example.com",
		"GIT_COMMITTER_NAME=Jane", "GIT_COMMITTER_EMAIL=jane@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func open(t testing.TB, url string) *gitops.Repo {
	t.Helper()
	repo, err := gitops.Open(gitops.Remote{URL: url}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func release(app, env, sha, content string) gitops.Release {
	return gitops.Release{
		Target:    gitops.Target{Env: env, App: app},
		Actor:     gitops.Actor{TriggeredBy: "jane"},
		Namespace: env,
		Artifact:  "mycompany/" + app + "-" + sha,
		Version:   artifact.Version{RepositoryName: "mycompany/" + app, SHA: sha, Event: artifact.EventPush, Branch: "main"},
		Files: map[string][]byte{
			"deployment-" + app + ".yaml": []byte("kind: Deployment\nmetadata:\n  name: " + app + "\n# " + content + "\n"),
			"service-" + app + ".yaml":    []byte("kind: Service\nmetadata:\n  name: " + app + "\n"),
		},
	}
}

func TestReleaseIntoNewLocalRepository(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	res, err := repo.Release(ctx, release("frontend", "staging", "deae5dbaf237766240181fa397e923d3c5253112", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.Commit) != 40 {
		t.Fatalf("result = %+v, want a new commit", res)
	}
	// The local repository's worktree follows pushes, so a newcomer sees the files.
	for _, f := range []string{"deployment-frontend.yaml", "service-frontend.yaml", "release.json", "kustomization.yaml"} {
		if _, err := os.Stat(filepath.Join(path, "staging", "frontend", f)); err != nil {
			t.Errorf("released file %s: %v", f, err)
		}
	}
	msg := git(t, path, "log", "-1", "--format=%B")
	for _, want := range []string{
		"Release frontend deae5db to staging", "Auger-Action: release", "Auger-App: frontend", "Auger-Env: staging",
		"Auger-Artifact: mycompany/frontend-deae5dbaf237766240181fa397e923d3c5253112",
		"Auger-Repository: mycompany/frontend", "Auger-Sha: deae5dbaf237766240181fa397e923d3c5253112", "Auger-Triggered-By: jane",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	if got := git(t, path, "rev-parse", "HEAD"); got != res.Commit {
		t.Errorf("HEAD = %s, want %s", got, res.Commit)
	}
	kust, _ := os.ReadFile(filepath.Join(path, "staging", "frontend", "kustomization.yaml"))
	if !strings.Contains(string(kust), "- deployment-frontend.yaml\n- service-frontend.yaml\n") {
		t.Errorf("kustomization.yaml does not list the objects:\n%s", kust)
	}
}

func TestReleaseOverSmartHTTP(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	repo := open(t, srv.AuthURL("gitops"))
	if strings.Contains(repo.String(), srv.Password) {
		t.Fatalf("repository name shows the token: %s", repo.String())
	}
	if _, err := repo.Release(ctx, release("api", "production", "1111111111111111111111111111111111111111", "a")); err != nil {
		t.Fatal(err)
	}
	if got := git(t, srv.Dir("gitops"), "log", "--format=%s", "main"); got != "Release api 1111111 to production" {
		t.Errorf("log = %q", got)
	}
	if got := git(t, srv.Dir("gitops"), "ls-tree", "--name-only", "main", "production/api/"); !strings.Contains(got, "production/api/release.json") {
		t.Errorf("tree = %q", got)
	}
}

// Tip tells a write made through another clone (another replica's).
func TestTipSeesOtherClonesWrites(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	watcher, writer := open(t, srv.AuthURL("gitops")), open(t, srv.AuthURL("gitops"))
	if tip, err := watcher.Tip(ctx); err != nil || tip != "" {
		t.Fatalf("tip of an empty repository: %q, %v", tip, err)
	}
	res, err := writer.Release(ctx, release("api", "staging", "3333333333333333333333333333333333333333", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if tip, err := watcher.Tip(ctx); err != nil || tip != res.Commit {
		t.Fatalf("tip after another clone's release: %q, %v; want %s", tip, err, res.Commit)
	}
}

func TestWrongCredentialsAreRedacted(t *testing.T) {
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	url := strings.Replace(srv.URL, "http://", "http://x-access-token:ghs_supersecret@", 1) + "/gitops.git"
	repo := open(t, url)
	_, err := repo.Release(context.Background(), release("api", "staging", "2222222222222222222222222222222222222222", "a"))
	if err == nil {
		t.Fatal("release with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), "ghs_supersecret") {
		t.Fatalf("error shows the token: %v", err)
	}
	if !strings.Contains(err.Error(), "authentication") && !strings.Contains(err.Error(), "authorization") {
		t.Errorf("error does not say what is wrong: %v", err)
	}
}

func TestIdempotentWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	rel := release("frontend", "staging", "3333333333333333333333333333333333333333", "v1")
	rel.Trigger = "comment-1"
	first, err := repo.Release(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	// Same content again: no commit.
	rel.Trigger = "comment-2"
	again, err := repo.Release(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || again.Commit != first.Commit {
		t.Errorf("same release made a commit: %+v", again)
	}
	// Same trigger, even with new content (a redelivered event): no second commit.
	rel2 := release("frontend", "staging", "4444444444444444444444444444444444444444", "v2")
	rel2.Trigger = "comment-1"
	dup, err := repo.Release(ctx, rel2)
	if err != nil {
		t.Fatal(err)
	}
	if dup.Changed || !dup.Recorded || dup.Commit != first.Commit {
		t.Errorf("repeated trigger made a commit: %+v (first %s)", dup, first.Commit)
	}
	if n := git(t, path, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("commits = %s, want 1", n)
	}
}

func TestUnrelatedFilesUntouched(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	if _, err := repo.Release(ctx, release("frontend", "staging", "5555555555555555555555555555555555555555", "v1")); err != nil {
		t.Fatal(err)
	}
	// A person adds files elsewhere and inside the env folder.
	os.MkdirAll(filepath.Join(path, "infra"), 0o755)
	os.WriteFile(filepath.Join(path, "infra", "cert-manager.yaml"), []byte("kind: Namespace\n"), 0o644)
	os.WriteFile(filepath.Join(path, "staging", "shared.yaml"), []byte("kind: ConfigMap\n"), 0o644)
	git(t, path, "add", "-A")
	git(t, path, "commit", "-qm", "Add infra")
	before := git(t, path, "rev-parse", "HEAD:infra", "HEAD:staging/shared.yaml")

	res, err := repo.Release(ctx, release("frontend", "staging", "6666666666666666666666666666666666666666", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diff.Changed) != 1 || res.Diff.Changed[0] != "deployment-frontend.yaml" || len(res.Diff.Added)+len(res.Diff.Removed) != 0 {
		t.Errorf("diff = %+v", res.Diff)
	}
	if _, err := repo.Release(ctx, release("api", "staging", "6666666666666666666666666666666666666666", "v2")); err != nil {
		t.Fatal(err)
	}
	if after := git(t, path, "rev-parse", "HEAD:infra", "HEAD:staging/shared.yaml"); after != before {
		t.Errorf("unrelated files changed: %s -> %s", before, after)
	}
	if diff := git(t, path, "diff", "--name-only", "HEAD~2", "HEAD~1"); diff != "staging/frontend/deployment-frontend.yaml\nstaging/frontend/release.json" {
		t.Errorf("release changed more than its folder:\n%s", diff)
	}
}

func TestLogRollbackAndExternalChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	shas := []string{"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"}
	commits := map[string]string{}
	for i, sha := range shas {
		res, err := repo.Release(ctx, release("frontend", "staging", sha, fmt.Sprint("v", i)))
		if err != nil {
			t.Fatal(err)
		}
		commits[sha] = res.Commit
		if _, err := repo.Release(ctx, release("api", "staging", sha, fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A person edits the folder by hand.
	os.WriteFile(filepath.Join(path, "staging", "frontend", "extra.yaml"), []byte("kind: ConfigMap\n"), 0o644)
	git(t, path, "add", "-A")
	git(t, path, "commit", "-qm", "Hotfix by hand")

	target := gitops.Target{Env: "staging", App: "frontend"}
	log, err := repo.Log(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 {
		t.Fatalf("log has %d entries, want 4: %+v", len(log), log)
	}
	if log[0].Action != gitops.ActionExternal || log[0].Subject != "Hotfix by hand" || log[0].Number != 4 {
		t.Errorf("newest entry = %+v, want the external change as number 4", log[0])
	}
	if log[1].Sha != shas[2] || log[3].Sha != shas[0] || log[3].Number != 1 || log[1].TriggeredBy != "jane" {
		t.Errorf("log order wrong: %+v", log)
	}

	// Default rollback: the release before the current one (c3 is current under the hotfix).
	res, to, err := repo.Rollback(ctx, target, "", gitops.Actor{TriggeredBy: "ops"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if to.Sha != shas[1] || !res.Changed {
		t.Fatalf("rolled back to %s (%+v), want %s", to.Sha, res, shas[1])
	}
	if got := git(t, path, "rev-parse", "HEAD:staging/frontend"); got != git(t, path, "rev-parse", commits[shas[1]]+":staging/frontend") {
		t.Error("rollback did not restore the exact tree of the target release")
	}
	msg := git(t, path, "log", "-1", "--format=%B")
	if !strings.Contains(msg, "Auger-Action: rollback") || !strings.Contains(msg, "Auger-Rollback-To: "+commits[shas[1]]) {
		t.Errorf("rollback trailers missing:\n%s", msg)
	}
	// Rolling back again goes further back, not forth.
	if _, to, err = repo.Rollback(ctx, target, "", gitops.Actor{TriggeredBy: "ops"}, nil); err != nil || to.Sha != shas[0] {
		t.Fatalf("second rollback went to %s (%v), want %s", to.Sha, err, shas[0])
	}
	// And there is nothing before the first release.
	if _, _, err = repo.Rollback(ctx, target, "", gitops.Actor{}, nil); !errors.Is(err, gitops.ErrNoRollbackTarget) {
		t.Errorf("rollback past the first release: %v", err)
	}
	// By app sha prefix, by number; after a delete the folder comes back.
	if _, err := repo.Delete(ctx, target, gitops.Actor{TriggeredBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "staging", "frontend")); !os.IsNotExist(err) {
		t.Fatalf("delete left the folder: %v", err)
	}
	if _, to, err = repo.Rollback(ctx, target, "c3c3c3", gitops.Actor{}, nil); err != nil || to.Sha != shas[2] {
		t.Fatalf("rollback to sha after delete: %s, %v", to.Sha, err)
	}
	if _, err := os.Stat(filepath.Join(path, "staging", "frontend", "release.json")); err != nil {
		t.Errorf("rollback after delete did not restore the folder: %v", err)
	}
	if _, to, err = repo.Rollback(ctx, target, "1", gitops.Actor{}, nil); err != nil || to.Sha != shas[0] {
		t.Errorf("rollback to release 1: %s, %v", to.Sha, err)
	}
	if _, _, err = repo.Rollback(ctx, target, "99", gitops.Actor{}, nil); err == nil || !strings.Contains(err.Error(), "no release 99") {
		t.Errorf("rollback to a missing number: %v", err)
	}
	if apps, err := repo.Apps(ctx, gitops.Target{Env: "staging"}); err != nil || strings.Join(apps, ",") != "api,frontend" {
		t.Errorf("apps = %v, %v", apps, err)
	}
	// The other app's history is its own.
	apiLog, err := repo.Log(ctx, gitops.Target{Env: "staging", App: "api"})
	if err != nil || len(apiLog) != 3 {
		t.Errorf("api log: %d entries, %v", len(apiLog), err)
	}
	all, err := repo.Log(ctx, gitops.Target{Env: "staging"})
	if err != nil || len(all) != len(apiLog)+9 {
		t.Errorf("env log: %d entries, %v", len(all), err)
	}
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	repo := open(t, filepath.Join(t.TempDir(), "gitops"))
	if _, err := repo.Lock(ctx, gitops.Lock{Env: "production", App: "api", Reason: "incident 42"}, gitops.Actor{TriggeredBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Release(ctx, release("api", "production", "7777777777777777777777777777777777777777", "x"))
	var locked *gitops.LockedError
	if !errors.As(err, &locked) || locked.Lock.By != "ops" || !strings.Contains(err.Error(), "incident 42") {
		t.Fatalf("release into a locked app: %v", err)
	}
	// Other apps are free; an env lock stops them too.
	if _, err := repo.Release(ctx, release("web", "production", "7777777777777777777777777777777777777777", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Lock(ctx, gitops.Lock{Env: "production"}, gitops.Actor{TriggeredBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Release(ctx, release("web", "production", "8888888888888888888888888888888888888888", "y")); !errors.As(err, &locked) {
		t.Fatalf("release into a locked env: %v", err)
	}
	locks, err := repo.Locks(ctx, "production")
	if err != nil || len(locks) != 2 || locks[0].App != "" || locks[1].App != "api" {
		t.Fatalf("locks = %+v, %v", locks, err)
	}
	for _, app := range []string{"", "api"} {
		if _, err := repo.Unlock(ctx, "production", app, gitops.Actor{TriggeredBy: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := repo.Release(ctx, release("api", "production", "7777777777777777777777777777777777777777", "x")); err != nil {
		t.Fatalf("release after unlock: %v", err)
	}
}

// A redelivered /lock or /unlock finds its trigger recorded and writes nothing, even
// when the lock was lifted or taken again since: it must not undo what came after it.
func TestRedeliveredLocksAreRecorded(t *testing.T) {
	for name, app := range map[string]string{"environment": "", "app": "api"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "gitops")
			repo := open(t, path)
			lockBy := func(who, trigger string) gitops.Result {
				t.Helper()
				res, err := repo.Lock(ctx, gitops.Lock{Env: "production", App: app}, gitops.Actor{TriggeredBy: who, Trigger: trigger})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			unlockBy := func(who, trigger string) gitops.Result {
				t.Helper()
				res, err := repo.Unlock(ctx, "production", app, gitops.Actor{TriggeredBy: who, Trigger: trigger})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			held := func() []gitops.Lock {
				t.Helper()
				locks, err := repo.Locks(ctx, "production")
				if err != nil {
					t.Fatal(err)
				}
				return locks
			}

			locked := lockBy("ops", "comment:1")
			unlocked := unlockBy("ops", "comment:2")
			if !locked.Changed || !unlocked.Changed {
				t.Fatalf("lock %+v, unlock %+v: want two commits", locked, unlocked)
			}
			// The /lock comment is delivered again after the unlock: it must not lock again.
			if res := lockBy("ops", "comment:1"); res.Changed || !res.Recorded || res.Commit != locked.Commit {
				t.Errorf("redelivered lock = %+v, want Recorded at %s", res, locked.Commit)
			}
			if locks := held(); len(locks) != 0 {
				t.Errorf("redelivered lock re-locked: %+v", locks)
			}
			// Someone else locks; the /unlock comment is delivered again: the new lock stands.
			relocked := lockBy("sre", "comment:3")
			if res := unlockBy("ops", "comment:2"); res.Changed || !res.Recorded || res.Commit != unlocked.Commit {
				t.Errorf("redelivered unlock = %+v, want Recorded at %s", res, unlocked.Commit)
			}
			if locks := held(); len(locks) != 1 || locks[0].By != "sre" || locks[0].App != app {
				t.Errorf("redelivered unlock lifted the new lock: %+v", locks)
			}
			if head := git(t, path, "rev-parse", "HEAD"); head != relocked.Commit {
				t.Errorf("HEAD = %s, want the last lock %s", head, relocked.Commit)
			}
			// A new trigger still works.
			if res := unlockBy("sre", "comment:4"); !res.Changed {
				t.Errorf("new unlock = %+v, want a commit", res)
			}
		})
	}
}

// A process killed while go-git rewrote the cached tracking ref leaves the ref file
// empty; the next process must repair the cache, not fail every write from then on.
func TestCacheSurvivesAKillDuringARefUpdate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	cache := t.TempDir()
	repo, err := gitops.Open(gitops.Remote{URL: path}, gitops.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Release(ctx, release("frontend", "staging", "1111111111111111111111111111111111111111", "v1")); err != nil {
		t.Fatal(err)
	}
	refs, err := filepath.Glob(filepath.Join(cache, "*", "refs", "remotes", "origin", "main"))
	if err != nil || len(refs) != 1 {
		t.Fatalf("tracking ref in the cache: %v, %v", refs, err)
	}
	if err := os.WriteFile(refs[0], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := gitops.Open(gitops.Remote{URL: path}, gitops.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	res, err := again.Release(ctx, release("backend", "staging", "2222222222222222222222222222222222222222", "v1"))
	if err != nil || !res.Changed {
		t.Fatalf("release after an emptied ref file: %+v, %v", res, err)
	}
	if n := git(t, path, "rev-list", "--count", "HEAD"); n != "2" {
		t.Errorf("commits = %s, want 2", n)
	}
}

func TestBadInputLeavesRepositoryAsItWas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	if _, err := repo.Release(ctx, release("frontend", "staging", "9999999999999999999999999999999999999999", "v1")); err != nil {
		t.Fatal(err)
	}
	head := git(t, path, "rev-parse", "HEAD")
	bad := map[string]gitops.Release{
		"app with ../": func() gitops.Release { r := release("x", "staging", "9", ""); r.App = "../etc"; return r }(),
		"app with /":   func() gitops.Release { r := release("x", "staging", "9", ""); r.App = "a/b"; return r }(),
		"look-alike":   func() gitops.Release { r := release("x", "staging", "9", ""); r.App = "frоntend"; return r }(),
		"path with ..": func() gitops.Release { r := release("x", "staging", "9", ""); r.Path = "staging/../../x"; return r }(),
		"no files":     func() gitops.Release { r := release("x", "staging", "9", ""); r.Files = nil; return r }(),
		"file name":    func() gitops.Release { r := release("x", "staging", "9", ""); r.Files["../a.yaml"] = nil; return r }(),
	}
	for name, rel := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := repo.Release(ctx, rel); err == nil {
				t.Fatal("bad release was written")
			}
			if got := git(t, path, "rev-parse", "HEAD"); got != head {
				t.Fatalf("repository moved from %s to %s", head, got)
			}
		})
	}
}

// N writers, each with its own cache (as separate processes or replicas would have),
// release N apps into one branch over smart HTTP at once: N commits land, none lost.
func TestConcurrentReleasesLoseNothing(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			repo, err := gitops.Open(gitops.Remote{URL: srv.AuthURL("gitops")}, gitops.Options{CacheDir: t.TempDir(), MaxAttempts: 40})
			if err != nil {
				errs <- err
				return
			}
			_, err = repo.Release(ctx, release(fmt.Sprintf("app-%d", i), "staging", "abababababababababababababababababababab", "x"))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := git(t, srv.Dir("gitops"), "rev-list", "--count", "main"); got != fmt.Sprint(n) {
		t.Errorf("commits = %s, want %d", got, n)
	}
	folders := strings.Fields(git(t, srv.Dir("gitops"), "ls-tree", "--name-only", "main", "staging/"))
	if len(folders) != n {
		t.Errorf("app folders = %d (%v), want %d", len(folders), folders, n)
	}
}

func TestCreateEnv(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	repo := open(t, path)
	res, files, err := repo.CreateEnv(ctx, gitops.EnvBootstrap{Env: "staging", Path: "clusters/staging", SourceURL: "https://x-access-token:secret@github.com/mycompany/gitops.git"}, gitops.Actor{TriggeredBy: "ops"})
	if err != nil || !res.Changed || len(files) != 3 {
		t.Fatalf("create env: %+v %v %v", res, files, err)
	}
	sync, _ := os.ReadFile(filepath.Join(path, "flux", "staging", "sync.yaml"))
	source, _ := os.ReadFile(filepath.Join(path, "flux", "staging", "source.yaml"))
	if !strings.Contains(string(sync), "path: ./clusters/staging") || !strings.Contains(string(source), "url: https://***@github.com/mycompany/gitops.git") {
		t.Errorf("bootstrap:\n%s\n%s", source, sync)
	}
	if strings.Contains(string(source), "secret") {
		t.Error("bootstrap carries a credential")
	}
	again, _, err := repo.CreateEnv(ctx, gitops.EnvBootstrap{Env: "staging", Path: "clusters/staging", SourceURL: "https://x-access-token:secret@github.com/mycompany/gitops.git"}, gitops.Actor{})
	if err != nil || again.Changed {
		t.Errorf("second create env: %+v %v", again, err)
	}
}

// A proposal is a branch with the release commit on the tip; merged (as a pull request
// would be), the release shows in the log once, and a retry finds the branch.
func TestProposeAndMerge(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	repo := open(t, srv.AuthURL("gitops"))
	if _, err := repo.Release(ctx, release("api", "staging", "1111111111111111111111111111111111111111", "v1")); err != nil {
		t.Fatal(err)
	}
	rel := release("api", "staging", "2222222222222222222222222222222222222222", "v2")
	rel.Trigger = "comment:7"
	res, err := repo.Propose(ctx, rel, "auger/staging/api-7")
	if err != nil || !res.Changed || res.Branch != "auger/staging/api-7" {
		t.Fatalf("propose: %+v %v", res, err)
	}
	dir := srv.Dir("gitops")
	if got := git(t, dir, "rev-parse", "auger/staging/api-7^"); got != git(t, dir, "rev-parse", "main") {
		t.Error("the proposal is not built on the branch tip")
	}
	again, err := repo.Propose(ctx, rel, "auger/staging/api-7")
	if err != nil || !again.Recorded || again.Commit != res.Commit {
		t.Errorf("retried proposal: %+v %v", again, err)
	}
	sha, ok, err := srv.Backend("gitops").Merge("main", res.Commit, "Merge pull request #1")
	if err != nil || !ok {
		t.Fatalf("merge: %v %v", ok, err)
	}
	log, err := repo.Log(ctx, gitops.Target{Env: "staging", App: "api"})
	if err != nil || len(log) != 2 || log[0].Commit != res.Commit || log[0].Trigger != "comment:7" {
		t.Fatalf("log after the merge: %+v %v", log, err)
	}
	// The merged trigger is recorded: the same request again makes nothing new.
	dup, err := repo.Release(ctx, rel)
	if err != nil || !dup.Recorded {
		t.Errorf("release after the merge: %+v %v", dup, err)
	}
	if head := git(t, dir, "rev-parse", "main"); head != sha {
		t.Errorf("main moved to %s after a recorded release", head)
	}
}
