package app_test

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

const benchEnvironments = `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
  - name: production
    gitops: {repository: mycompany/gitops, path: production}
    agentToken: {env: PRODUCTION_AGENT_TOKEN}
`

// BenchmarkDeploysWithinGitHubLimits sends 100 /deploy comments at once, over 20 apps
// (5 pull requests of 20 apps each) in two environments (staging without an agent,
// production with one), to a GitHub fake that enforces GitHub's secondary limits. Once
// the 100 are acknowledged, and while they are still queued, 100 /help comments arrive a
// second and a half apart: their 👀 is the acknowledgement latency under load. The
// hour's 500 creating requests allow 50 probes beside the 100 deploys, so the run is made
// twice, each with a new installation, and the acknowledgement figures (p50, p99, max)
// are of the 100 probes of both, with the fewest commands any probe found waiting for
// their answer. It checks
// that every release lands once and that no request was refused by a limit, and reports
// the wall time against the floor the limits imply for the creating requests made (one
// a second, 80 a minute, 500 an hour).
//
// Time is counted in GitHub's seconds scaled by AUGER_BENCH_UNIT (default 50ms): the
// pacer and the fake both count 60 units as a minute and 3600 as an hour, so the run is
// GitHub's, compressed. What does not scale (GitHub's answer time, Auger's CPU and git
// work) weighs more at a small unit, so the ratio and the acknowledgement latency (in
// units) are pessimistic there. AUGER_BENCH_UNIT=1s runs it at GitHub's own pace (about
// eight minutes). Run it once:
//
//	go test -run '^$' -bench DeploysWithinGitHubLimits -benchtime 1x -timeout 30m ./app/
func BenchmarkDeploysWithinGitHubLimits(b *testing.B) {
	unit := 50 * time.Millisecond
	if v, err := time.ParseDuration(os.Getenv("AUGER_BENCH_UNIT")); err == nil && v > 0 {
		unit = v
	}
	const apps, prs, probes, rounds = 20, 5, 50, 2
	var latencies []float64
	queued := apps * prs
	for n := 0; n < b.N*rounds; n++ {
		w := newReleaseWorld(b, benchEnvironments, "PRODUCTION_AGENT_TOKEN=p", "AUGER_GITHUB_PACING_UNIT="+unit.String())
		limited := w.fake.EnforceLimits(unit)
		w.repo.SetPermission("jane", "write")
		names := make([]string, apps)
		for i := range names {
			names[i] = fmt.Sprintf("app-%02d", i)
		}
		numbers := make([]int, prs)
		for i := range numbers {
			_, numbers[i] = w.pullRequest(b, fmt.Sprintf("change-%d", i), names...)
		}
		b.ResetTimer()
		before := len(w.fake.Requests())
		start := time.Now()
		sent := map[int64]time.Time{}
		deploys := map[int64]int{} // comment → pull request
		for i := 0; i < apps*prs; i++ {
			env := []string{"staging", "production"}[(i+i/apps)%2]
			id := w.repo.AddComment(numbers[i/apps], "jane", fmt.Sprintf("/deploy %s %s", env, names[i%apps]))
			sent[id] = time.Now()
			deploys[id] = numbers[i/apps]
			w.redeliverComment(b, id, "")
		}
		acked := func() map[int64]time.Time { return reactions(w.fake.Requests()[before:]) }
		waitUntil(b, 5*time.Duration(apps*prs)*unit, func() bool { return len(acked()) >= apps*prs })
		// The burst's acknowledgements went a unit apart; a comment right after the last
		// of them would wait for that unit (acknowledgements keep GitHub's second among
		// themselves, docs/github-app.md). The probes measure a comment among queued
		// work, not behind a burst of comments.
		time.Sleep(unit)
		var probeIDs []int64
		for i := 0; i < probes; i++ {
			// Commands waiting for their answer: the deploys not answered and the probes
			// before this one not answered.
			waiting := i
			for _, pr := range numbers {
				comments := w.repo.Comments(pr)
				waiting += apps - released(comments)
				if pr == numbers[0] {
					waiting -= helped(comments)
				}
			}
			queued = min(queued, waiting)
			id := w.repo.AddComment(numbers[0], "jane", "/help")
			sent[id] = time.Now()
			probeIDs = append(probeIDs, id)
			w.redeliverComment(b, id, "")
			time.Sleep(unit * 3 / 2)
		}
		// Every /deploy answered; then every answer a release.
		var answers map[int64]string
		waitUntil(b, 20*time.Duration(apps*prs)*unit, func() bool {
			answers = answered(w, deploys)
			return len(answers) >= apps*prs
		})
		wall := time.Since(start)
		b.StopTimer()

		for id, reply := range answers {
			if !strings.Contains(reply, "**Released**") {
				b.Errorf("/deploy %d was not released:\n%s", id, reply)
			}
		}
		if c := w.gitops(b, "rev-list", "--count", "main"); c != fmt.Sprint(apps*prs) {
			b.Errorf("gitops commits = %s, want %d (each release once)", c, apps*prs)
		}
		calls := w.fake.Requests()[before:]
		creating, reads, first, last := 0, 0, time.Time{}, time.Time{}
		// The shortest gap before a creating request that is not an acknowledgement, in
		// units: only a 👀 may cut into GitHub's second (githubapi's pacer).
		var prev time.Time
		ordinaryGap := math.Inf(1)
		for _, r := range calls {
			if r.Installation == 0 {
				continue
			}
			if r.Method == http.MethodGet {
				reads++
				continue
			}
			creating++
			if first.IsZero() {
				first = r.Time
			}
			if !prev.IsZero() && r.OperationID != "reactions/create-for-issue-comment" {
				ordinaryGap = math.Min(ordinaryGap, float64(r.Time.Sub(prev))/float64(unit))
			}
			prev, last = r.Time, r.Time
		}
		stats := limited.Stats()
		if stats.Refused > 0 {
			b.Errorf("%d requests refused by a secondary limit", stats.Refused)
		}
		// The limits admit one creating request a unit (80 a minute and 500 an hour bind
		// later): the floor for the creating requests made is one unit between each.
		floor := time.Duration(creating-1) * unit
		if creating > 500 {
			b.Errorf("%d creating requests: more than an hour's budget", creating)
		}
		acks := acked()
		for _, id := range probeIDs {
			if at, ok := acks[id]; ok {
				latencies = append(latencies, float64(at.Sub(sent[id]))/float64(unit))
			} else {
				b.Errorf("probe %d was not acknowledged", id)
			}
		}
		if n%rounds != rounds-1 {
			continue
		}
		sort.Float64s(latencies)
		// Each probe made two creating requests (its 👀 and its reply) and no read.
		b.ReportMetric(float64(creating-2*probes)/float64(apps*prs), "creating/deploy")
		b.ReportMetric(float64(creating+reads-2*probes)/float64(apps*prs), "requests/deploy")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "wall/floor")
		b.ReportMetric(last.Sub(first).Seconds()/floor.Seconds(), "paced/floor")
		p99 := latencies[int(math.Ceil(0.99*float64(len(latencies))))-1]
		b.ReportMetric(latencies[len(latencies)-1], "ack-max-units")
		b.ReportMetric(p99, "ack-p99-units")
		b.ReportMetric(latencies[len(latencies)/2], "ack-p50-units")
		b.ReportMetric(float64(queued), "fewest-queued-at-probes")
		b.ReportMetric(float64(stats.Refused), "refused")
		b.ReportMetric(stats.MinGap, "min-gap-units")
		b.ReportMetric(ordinaryGap, "min-gap-before-ordinary-units")
		b.Logf("unit %v: %d deploys and %d probes, %d creating and %d reading requests (probes included), wall %v, floor %v; at least %d commands waiting at each probe; ack latencies (units) p50 %.3f p99 %.3f max %.3f over %d; fake: %+v",
			unit, apps*prs, probes, creating, reads, wall.Round(time.Millisecond), floor, queued, latencies[len(latencies)/2], p99, latencies[len(latencies)-1], len(latencies), stats)
		latencies, queued = nil, apps*prs
	}
}

// reactions maps each comment to when its first reaction was created.
func reactions(calls []githubfake.Request) map[int64]time.Time {
	out := map[int64]time.Time{}
	for _, r := range calls {
		if r.OperationID != "reactions/create-for-issue-comment" || r.Status >= 300 {
			continue
		}
		var id int64
		parts := strings.Split(r.Path, "/")
		if _, err := fmt.Sscan(parts[len(parts)-2], &id); err == nil {
			if _, ok := out[id]; !ok {
				out[id] = r.Time
			}
		}
	}
	return out
}

// answered maps each /deploy comment answered to its reply.
func answered(w *releaseWorld, deploys map[int64]int) map[int64]string {
	byPR := map[int][]githubfake.Comment{}
	out := map[int64]string{}
	for id, pr := range deploys {
		if _, ok := byPR[pr]; !ok {
			byPR[pr] = w.repo.Comments(pr)
		}
		for _, c := range byPR[pr] {
			if strings.Contains(c.Body, fmt.Sprintf("auger:trigger=comment:%d ", id)) {
				out[id] = c.Body
			}
		}
	}
	return out
}

// helped counts the answers to /help.
func helped(comments []githubfake.Comment) int {
	n := 0
	for _, c := range comments {
		if strings.Contains(c.Body, "**Auger commands**") {
			n++
		}
	}
	return n
}

// released counts the replies that tell a release.
func released(comments []githubfake.Comment) int {
	n := 0
	for _, c := range comments {
		if strings.Contains(c.Body, "auger:trigger=") && strings.Contains(c.Body, "**Released**") {
			n++
		}
	}
	return n
}

func waitUntil(b *testing.B, limit time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("not done within %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
