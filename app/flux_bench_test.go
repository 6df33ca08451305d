package app_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/cluster"
)

// fluxStages are the stages of comment → live, each ending when the next one can begin.
var fluxStages = []string{"Auger (comment → gitops commit)", "Flux fetch", "Flux apply", "rollout", "report (→ check run success)"}

// BenchmarkCommentToLive measures, over 10 deploys each, how long `/deploy staging` takes to
// be live on the real loop (GitHub fake, Auger, git server, Flux, controller manager, kwok,
// agent), with the agent asking Flux to reconcile after each gitops write (requestedAt) and
// without (Flux's 1-minute interval), and the share of each stage. Run it with:
//
//	AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh) go test ./app -run '^$' -bench CommentToLive -benchtime 1x -timeout 30m
func BenchmarkCommentToLive(b *testing.B) {
	for _, tc := range []struct {
		name      string
		reconcile bool
	}{{"requestedAt", true}, {"interval", false}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				measureCommentToLive(b, tc.reconcile, 10)
			}
		})
	}
}

func measureCommentToLive(b *testing.B, reconcile bool, deploys int) {
	l := startFluxLoop(b, fluxEnvironments, reconcile, "staging")
	var totals []time.Duration
	stageSums := make([]time.Duration, len(fluxStages))
	for i := range deploys {
		sha, pr := l.pullRequest(b, fmt.Sprintf("bench-%d", i), "frontend")
		before := l.gitops(b, "rev-parse", "main")
		image := "ghcr.io/mycompany/frontend:" + sha
		start := time.Now()
		l.comment(b, pr, "jane", "/deploy staging", "")
		marks := make([]time.Time, 0, len(fluxStages))
		var commit string
		done := []func() bool{
			func() bool { commit = l.gitops(b, "rev-parse", "main"); return commit != before },
			func() bool {
				repo, err := l.dyn.Resource(gitRepositories).Namespace(cluster.FluxNamespace).Get(l.ctx, "auger-staging", metav1.GetOptions{})
				rev, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "revision")
				return err == nil && strings.HasSuffix(rev, commit)
			},
			func() bool { return strings.HasSuffix(revision(l.kustomization(b, "staging")), commit) },
			func() bool {
				d := l.deployment(b, "staging", "frontend")
				return d.Spec.Template.Spec.Containers[0].Image == image && d.Status.ObservedGeneration == d.Generation &&
					d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas
			},
			func() bool {
				for _, cr := range l.augerRuns(sha) {
					if cr.Name == commands.CheckDeployPrefix+"staging" && cr.Status == "completed" {
						if cr.Conclusion != "success" {
							b.Fatalf("deploy %d: %s %q", i, cr.Conclusion, cr.Output.Title)
						}
						return true
					}
				}
				return false
			},
		}
		l.eventually(b, fmt.Sprintf("deploy %d is live", i), func() bool {
			for len(marks) < len(done) && done[len(marks)]() {
				marks = append(marks, time.Now())
			}
			return len(marks) == len(done)
		}, func() string { return fmt.Sprintf("%d stages done", len(marks)) })
		prev := start
		for s, m := range marks {
			stageSums[s] += m.Sub(prev)
			prev = m
		}
		totals = append(totals, prev.Sub(start))
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i] < totals[j] })
	p50, p90 := totals[(len(totals)-1)/2], totals[(len(totals)*9+9)/10-1]
	var sum time.Duration
	for _, d := range totals {
		sum += d
	}
	var shares []string
	for s, name := range fluxStages {
		shares = append(shares, fmt.Sprintf("%s %.0f%% (mean %v)", name, 100*float64(stageSums[s])/float64(sum), (stageSums[s]/time.Duration(deploys)).Round(time.Millisecond)))
	}
	b.Logf("comment → live over %d deploys (requestedAt: %v): p50 %v, p90 %v; %s", deploys, reconcile,
		p50.Round(time.Millisecond), p90.Round(time.Millisecond), strings.Join(shares, ", "))
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p90.Milliseconds()), "p90-ms")
}
