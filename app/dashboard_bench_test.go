package app_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/githubfake"
)

// BenchmarkDashboardHome serves the home page of 30 apps × 3 environments, each app
// released everywhere with its deploy check run, to a signed-in person who can read
// every repository, and reports the page's p50 and p99 once warm and the GitHub
// requests per page view (the targets: ≤ 50 ms p50, ≤ 1 request a view).
func BenchmarkDashboardHome(b *testing.B) {
	const apps = 30
	envs := []string{"dev", "staging", "production"}
	var environments strings.Builder
	for _, e := range envs {
		fmt.Fprintf(&environments, "  - name: %s\n    gitops: {repository: mycompany/gitops, path: %s}\n    agentToken: {env: AGENT_TOKEN_%s}\n", e, e, strings.ToUpper(e))
	}
	w := newDashboardWorld(b, environments.String(), "AGENT_TOKEN_DEV=a", "AGENT_TOKEN_STAGING=b", "AGENT_TOKEN_PRODUCTION=c")
	repo, err := gitops.Open(gitops.Remote{URL: w.git.Dir("mycompany/gitops")}, gitops.Options{CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for i := range apps {
		name := fmt.Sprintf("service-%02d", i)
		r := w.fake.AddRepo("mycompany", name)
		r.SetPermission("jane", "read")
		sha := r.AddCommit(githubfake.Commit{Branch: "main", Message: "Change " + name, AuthorName: "Jane Doe", AuthorEmail: "jane@example.com", Files: map[string]string{"README.md": name}})
		id := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: name}, sha)
		for _, env := range envs {
			_, err := repo.Release(context.Background(), gitops.Release{Target: gitops.Target{Env: env, App: name}, Actor: gitops.Actor{TriggeredBy: "jane", Trigger: "bench:" + env + name},
				Namespace: env, Artifact: id, Version: artifact.Version{RepositoryName: "mycompany/" + name, SHA: sha, Branch: "main", Event: artifact.EventPush},
				Files: map[string][]byte{"deployment-" + name + ".yaml": []byte("kind: Deployment\nmetadata: {name: " + name + "}\n")}})
			if err != nil {
				b.Fatal(err)
			}
			r.AddCheckRun(sha, githubfake.CheckRun{Name: commands.CheckDeployPrefix + env, AppSlug: "auger", Status: "completed", Conclusion: "success",
				ExternalID: commands.DeployCheckID(id, []string{name}), Output: githubfake.CheckRunOutput{Title: name + " is live in " + env}})
		}
	}
	jane := w.browser(b)
	home := jane.signIn("jane")
	if n := strings.Count(home, `data-state="live"`); n != apps*len(envs) {
		b.Fatalf("%d live cells, want %d:\n%.2000s", n, apps*len(envs), home)
	}
	jane.get("/") // warm

	before := len(w.fake.Requests())
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		status, _ := jane.get("/")
		times = append(times, time.Since(start))
		if status != http.StatusOK {
			b.Fatalf("home answered %d", status)
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(w.fake.Requests())-before)/float64(b.N), "github-requests/view")
}
