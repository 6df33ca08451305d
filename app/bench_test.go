package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/internal/githubfake"
)

// BenchmarkWebhookAck measures webhook acknowledgement (signature check and enqueue)
// under a sustained, open-loop load of 500 signed deliveries per second for 10 seconds
// on loopback, and counts refused deliveries. Run it once:
//
//	go test -run '^$' -bench WebhookAck -benchtime 1x ./app/
//
// AUGER_BENCH_RATE and AUGER_BENCH_SECONDS change the load.
func BenchmarkWebhookAck(b *testing.B) {
	rate, seconds := envInt("AUGER_BENCH_RATE", 500), envInt("AUGER_BENCH_SECONDS", 10)
	srv, _, _ := testServer(b, "AUGER_LISTEN=127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, ln) //nolint:errcheck // stopped by cancel
	url := "http://" + ln.Addr().String() + "/api/github/hook"

	payload := githubfake.Payload(b, "push", "")
	body, err := json.Marshal(payload)
	if err != nil {
		b.Fatal(err)
	}
	signature := sign(body, testSecret)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 10 * time.Second}

	for n := 0; n < b.N; n++ {
		total := rate * seconds
		latencies := make([]time.Duration, total)
		codes := make([]int, total)
		var wg sync.WaitGroup
		ticker := time.NewTicker(time.Second / time.Duration(rate))
		b.ResetTimer()
		for i := 0; i < total; i++ {
			<-ticker.C
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "push")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", n, i))
				req.Header.Set("X-Hub-Signature-256", signature)
				start := time.Now()
				resp, err := client.Do(req)
				latencies[i] = time.Since(start)
				if err != nil {
					codes[i] = -1
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}(i)
		}
		wg.Wait()
		ticker.Stop()
		b.StopTimer()
		refused := 0
		for _, c := range codes {
			if c != http.StatusOK {
				refused++
			}
		}
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		p := func(q float64) float64 { return float64(latencies[int(q*float64(total-1))].Microseconds()) / 1000 }
		b.ReportMetric(p(0.50), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
		b.ReportMetric(float64(refused), "refused")
		b.ReportMetric(float64(total), "deliveries")
		if refused > 0 {
			b.Errorf("%d of %d deliveries refused", refused, total)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkDeployEndToEnd measures /deploy from the webhook's arrival to the reply on
// the pull request (authorization, rendering, the gitops commit pushed over smart HTTP,
// the deploy check run, the Deployment and the reply), against the GitHub fake and a
// gitops repository of 20,000 files in 200 folders with 2,000 commits. Run it once:
//
//	go test -run '^$' -bench DeployEndToEnd -benchtime 1x ./app/
func BenchmarkDeployEndToEnd(b *testing.B) {
	deploys := envInt("AUGER_BENCH_DEPLOYS", 20)
	w := newReleaseWorld(b, defaultEnvironments)
	w.git.Populate(b, "mycompany/gitops", "staging", 200, 100, 2000)
	w.repo.SetPermission("jane", "write")
	prs := make([]int, deploys+1)
	for i := range prs {
		_, prs[i] = w.pullRequest(b, fmt.Sprintf("change-%d", i), "frontend")
	}
	// The first deploy clones the gitops repository and fills the chart cache.
	w.comment(b, prs[0], "jane", "/deploy staging", "")
	w.reply(b, prs[0], 1)
	for n := 0; n < b.N; n++ {
		latencies := make([]time.Duration, 0, deploys)
		b.ResetTimer()
		for _, pr := range prs[1:] {
			start := time.Now()
			w.comment(b, pr, "jane", "/deploy staging", "")
			if reply := w.reply(b, pr, 1); !strings.Contains(reply, "**Released**") {
				b.Fatalf("deploy failed:\n%s", reply)
			}
			latencies = append(latencies, time.Since(start))
		}
		b.StopTimer()
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
		b.ReportMetric(ms(latencies[len(latencies)*9/10]), "p90-ms")
		b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
		b.ReportMetric(float64(len(latencies)), "deploys")
	}
}
