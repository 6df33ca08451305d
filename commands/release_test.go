package commands_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/manifests"
)

// fakeRenderer renders one ConfigMap per app and fails for the apps in failFor.
type fakeRenderer struct {
	failFor  map[string]bool
	rendered []string
}

func (f *fakeRenderer) Render(_ context.Context, ec artifact.EnvConfig, rel manifests.Release) ([]manifests.File, error) {
	f.rendered = append(f.rendered, ec.App)
	if f.failFor[ec.App] {
		return nil, errors.New("render chart web for " + ec.App + ": template: web/templates/x.yaml:3: boom")
	}
	return []manifests.File{{Name: "configmap-" + ec.App + ".yaml", Data: []byte("kind: ConfigMap\nmetadata:\n  name: " + ec.App + "\n# " + rel.SHA + "\n")}}, nil
}

type refuse struct{ app string }

func (r refuse) Authorize(_ context.Context, ask commands.Ask) error {
	for _, app := range ask.Apps {
		if app == r.app {
			return errors.New("only maintainers may release " + app + " to " + ask.Env.Name)
		}
	}
	return nil
}

func testArtifact() *artifact.Artifact {
	ec := func(app string) artifact.EnvConfig {
		return artifact.EnvConfig{App: app, Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: "charts/web"}}
	}
	return &artifact.Artifact{
		ID:           "mycompany/shop-1",
		Version:      artifact.Version{RepositoryName: "mycompany/shop", SHA: "deae5dbaf237766240181fa397e923d3c5253112", Event: artifact.EventPush, Branch: "main"},
		Environments: []artifact.EnvConfig{ec("api"), ec("web"), {App: "api", Env: "production", Namespace: "production", Chart: artifact.Chart{Name: "charts/web"}}},
	}
}

func environment(t *testing.T) (commands.Environment, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gitops")
	repo, err := gitops.Open(gitops.Remote{URL: dir}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return commands.Environment{Name: "staging", Repo: repo}, dir
}

func commitCount(t *testing.T, dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-list", "--count", "--all").CombinedOutput()
	if err != nil {
		return "0"
	}
	return strings.TrimSpace(string(out))
}

func TestReleaseEveryAppOfTheEnv(t *testing.T) {
	env, dir := environment(t)
	r := &fakeRenderer{}
	done, err := (&commands.Releaser{Renderer: r}).Release(context.Background(), env, commands.DeployRequest{Artifact: testArtifact(), Env: "staging", Actor: gitops.Actor{TriggeredBy: "jane"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0].App != "api" || done[1].App != "web" || !done[0].Result.Changed {
		t.Fatalf("released = %+v", done)
	}
	if n := commitCount(t, dir); n != "2" {
		t.Errorf("commits = %s, want one per app", n)
	}
	// Only one app when asked.
	env2, _ := environment(t)
	done, err = (&commands.Releaser{Renderer: &fakeRenderer{}}).Release(context.Background(), env2, commands.DeployRequest{Artifact: testArtifact(), Env: "staging", App: "web"})
	if err != nil || len(done) != 1 || done[0].App != "web" {
		t.Errorf("release of one app: %+v, %v", done, err)
	}
}

func TestNothingIsWrittenWhenAnyAppFails(t *testing.T) {
	for name, releaser := range map[string]*commands.Releaser{
		"render error":  {Renderer: &fakeRenderer{failFor: map[string]bool{"web": true}}},
		"not permitted": {Renderer: &fakeRenderer{}, Authorizer: refuse{app: "web"}},
	} {
		t.Run(name, func(t *testing.T) {
			env, dir := environment(t)
			done, err := releaser.Release(context.Background(), env, commands.DeployRequest{Artifact: testArtifact(), Env: "staging"})
			if err == nil || len(done) != 0 {
				t.Fatalf("release succeeded: %+v", done)
			}
			if !strings.Contains(err.Error(), "web") {
				t.Errorf("error does not name the app: %v", err)
			}
			if n := commitCount(t, dir); n != "0" {
				t.Errorf("commits = %s, want none", n)
			}
		})
	}
}

func TestRollbackNeedsAnApp(t *testing.T) {
	env, _ := environment(t)
	if _, err := (&commands.Releaser{}).Rollback(context.Background(), env, commands.RollbackRequest{Env: "staging"}); err == nil {
		t.Fatal("rollback without an app succeeded")
	}
}
