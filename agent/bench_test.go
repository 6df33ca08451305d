package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/internal/cluster"
)

// BenchmarkAgentOnACluster measures the agent on a real kube-apiserver holding 10,000
// managed pods (100 releases of 100 pods) and 10,000 unmanaged ones: its heap after the
// informers synced, and how long a pod status change takes to reach the server. Run once:
//
//	AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh) go test -run '^$' -bench AgentOnACluster -benchtime 1x ./agent/
func BenchmarkAgentOnACluster(b *testing.B) {
	const releases, podsPerRelease, unmanaged, samples = 100, 100, 10000, 100
	c := cluster.Start(b)
	cfg := *c.Config
	cfg.QPS, cfg.Burst = 2000, 4000
	admin, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var pods []*corev1.Pod
	for r := 0; r < releases; r++ {
		app, release := fmt.Sprintf("app-%03d", r), fmt.Sprintf("r%03d", r)
		d := deployment(app, release, podsPerRelease)
		// The API server wants what the unit tests' builder leaves out.
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: d.Spec.Template.Labels}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "web", Image: "ghcr.io/acme/" + app + ":" + release}}
		if _, err := admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < podsPerRelease; i++ {
			p := pod(app, release, fmt.Sprintf("%s-%03d", app, i))
			p.UID, p.OwnerReferences[0].UID = "", types.UID("rs-"+app) // the owner need not exist
			pods = append(pods, p)
		}
	}
	for i := 0; i < unmanaged; i++ {
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("other-%05d", i), Namespace: ns, Labels: map[string]string{"app": "other"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}})
	}
	createAll(b, ctx, admin, pods)

	recv := newTimedReceiver(b)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err := agent.New(agent.Options{Server: recv.srv.URL, Env: "production", Token: "agent-token", Config: c.Config, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	go a.Run(ctx) //nolint:errcheck // ends with ctx
	start := time.Now()
	recv.wait(b, func(seen map[string]agent.ReleaseState) bool { return len(seen) == releases })
	synced := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)

	// One pod of a different release starts crash-looping each time; time until the
	// server hears of it.
	latencies := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		app := fmt.Sprintf("app-%03d", i%releases)
		p := pod(app, fmt.Sprintf("r%03d", i%releases), app+"-000", crashLoop("web", "Error", 1))
		cur, err := admin.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cur.Status = p.Status
		t0 := time.Now()
		if _, err := admin.CoreV1().Pods(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		recv.wait(b, func(seen map[string]agent.ReleaseState) bool {
			for _, s := range seen {
				if s.App == app && s.Phase == agent.PhaseFailed {
					return true
				}
			}
			return false
		})
		latencies = append(latencies, time.Since(t0))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(synced.Seconds(), "sync-s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Milliseconds()), "p99-ms")
	if heap > 64 {
		b.Errorf("agent heap %.1f MB after sync, target 64 MB", heap)
	}
}

// createAll creates pods 32 at a time, with their running status.
func createAll(b *testing.B, ctx context.Context, admin kubernetes.Interface, pods []*corev1.Pod) {
	var wg sync.WaitGroup
	work := make(chan *corev1.Pod)
	errs := make(chan error, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				status := p.Status
				created, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
				if err == nil && status.Phase != "" {
					created.Status = status
					_, err = admin.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, p := range pods {
		work <- p
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// timedReceiver keeps the latest reported state per release.
type timedReceiver struct {
	mu   sync.Mutex
	seen map[string]agent.ReleaseState
	srv  *httptest.Server
}

func newTimedReceiver(b *testing.B) *timedReceiver {
	r := &timedReceiver{seen: map[string]agent.ReleaseState{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var rep agent.Report
		if err := json.NewDecoder(req.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, s := range rep.Releases {
			r.seen[agent.Key(s)] = s
		}
		r.mu.Unlock()
	}))
	b.Cleanup(r.srv.Close)
	return r
}

func (r *timedReceiver) wait(b *testing.B, ok func(map[string]agent.ReleaseState) bool) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		done := ok(r.seen)
		r.mu.Unlock()
		if done {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("timed out waiting for reports")
}
