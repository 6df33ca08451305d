package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

// blockingHandler blocks every event until release is closed.
type blockingHandler struct {
	release chan struct{}
	handled atomic.Int32
	fail    bool
}

func (h *blockingHandler) Handles() []string { return []string{"push"} }
func (h *blockingHandler) Handle(ctx context.Context, _, _ string, _ []byte) error {
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.handled.Add(1)
	if h.fail {
		return errors.New("boom")
	}
	return nil
}

func dispatch(h githubapp.EventHandler, id string) githubapp.Dispatch {
	return githubapp.Dispatch{Handler: h, EventType: "push", DeliveryID: id, Payload: []byte(`{}`)}
}

func TestQueueRefusesWhenFullAndDrains(t *testing.T) {
	h := &blockingHandler{release: make(chan struct{})}
	q := newQueue(2, 1, time.Minute, zerolog.Nop(), newMetrics())
	ctx := context.Background()
	// One event in the worker, two queued: the fourth is refused, never dropped silently.
	for i, id := range []string{"a", "b", "c"} {
		if err := q.Schedule(ctx, dispatch(h, id)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if i == 0 {
			time.Sleep(20 * time.Millisecond) // let the worker take it
		}
	}
	if err := q.Schedule(ctx, dispatch(h, "d")); !errors.Is(err, githubapp.ErrCapacityExceeded) {
		t.Fatalf("full queue: %v", err)
	}
	// A refused delivery may come again later and is then accepted.
	var wg sync.WaitGroup
	wg.Add(1)
	var drainErr error
	go func() { defer wg.Done(); drainErr = q.Drain(ctx) }()
	time.Sleep(20 * time.Millisecond)
	if err := q.Schedule(ctx, dispatch(h, "e")); !errors.Is(err, githubapp.ErrCapacityExceeded) {
		t.Errorf("draining queue accepted an event: %v", err)
	}
	close(h.release)
	wg.Wait()
	if drainErr != nil || h.handled.Load() != 3 {
		t.Fatalf("drain: %v, handled %d, want 3", drainErr, h.handled.Load())
	}
}

func TestQueueSkipsRedeliveriesButRetriesFailures(t *testing.T) {
	release := make(chan struct{})
	close(release)
	ok := &blockingHandler{release: release}
	q := newQueue(10, 2, time.Minute, zerolog.Nop(), newMetrics())
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := q.Schedule(ctx, dispatch(ok, "same-delivery")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	failing := &blockingHandler{release: release, fail: true}
	for i := 0; i < 2; i++ {
		if err := q.Schedule(ctx, dispatch(failing, "failing-delivery")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if ok.handled.Load() != 1 {
		t.Errorf("a redelivered event ran %d times", ok.handled.Load())
	}
	if failing.handled.Load() != 2 {
		t.Errorf("a failed event's redelivery ran %d times, want 2", failing.handled.Load())
	}
}

// A failed delivery is forgotten so its redelivery runs; forgetting it must leave no
// trace that later pushes out what the queue still remembers. With room for two ids,
// a failed "a", its successful redelivery and "b" are both remembered: a third "a" is
// skipped.
func TestQueueDedupeForgetsFailedDeliveriesCleanly(t *testing.T) {
	release := make(chan struct{})
	close(release)
	q := newQueue(10, 1, time.Minute, zerolog.Nop(), newMetrics())
	seen, err := lru.New[string, struct{}](2)
	if err != nil {
		t.Fatal(err)
	}
	q.seen = seen
	ctx := context.Background()
	failing := &blockingHandler{release: release, fail: true}
	ok := &blockingHandler{release: release}
	for i, step := range []struct {
		h  *blockingHandler
		id string
	}{{failing, "a"}, {ok, "a"}, {ok, "b"}, {ok, "a"}} {
		if err := q.Schedule(ctx, dispatch(step.h, step.id)); err != nil {
			t.Fatal(err)
		}
		// Let the worker finish it (the last one is skipped), forgetting included.
		for deadline := time.Now().Add(5 * time.Second); finished(q) < min(i+1, 3) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if failing.handled.Load() != 1 || ok.handled.Load() != 2 {
		t.Errorf("handled: failing %d, ok %d; want 1 and 2 (the third \"a\" is a redelivery of a handled event)", failing.handled.Load(), ok.handled.Load())
	}
}

// finished counts the events the queue's workers are done with, handled or failed.
func finished(q *queue) int {
	return int(testutil.ToFloat64(q.m.webhooks.WithLabelValues("push", "handled")) +
		testutil.ToFloat64(q.m.webhooks.WithLabelValues("push", "failed")))
}

func TestQueueMalformedPayload(t *testing.T) {
	q := newQueue(1, 1, time.Minute, zerolog.Nop(), newMetrics())
	err := q.Schedule(context.Background(), githubapp.Dispatch{EventType: "push", Payload: []byte(`{"ref": `)})
	var ve githubapp.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("malformed payload: %v", err)
	}
}

func TestQueueEventTimeout(t *testing.T) {
	h := &blockingHandler{release: make(chan struct{})}
	q := newQueue(1, 1, 50*time.Millisecond, zerolog.Nop(), newMetrics())
	if err := q.Schedule(context.Background(), dispatch(h, "slow")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("an event ran past its timeout")
	}
}

// A queued event is acknowledged at once, while every worker is busy, and a refused or
// duplicate one is not.
func TestQueueAcknowledgesWithoutAWorker(t *testing.T) {
	h := &blockingHandler{release: make(chan struct{})}
	q := newQueue(5, 1, time.Minute, zerolog.Nop(), newMetrics())
	acked := make(chan string, 10)
	q.acknowledge["push"] = func(_ context.Context, payload []byte) bool { acked <- string(payload); return true }
	ctx := context.Background()
	for _, id := range []string{"a", "b", "b"} {
		d := dispatch(h, id)
		d.Payload = []byte(`"` + id + `"`)
		if err := q.Schedule(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case p := <-acked:
			got[p] = true
		case <-time.After(time.Second):
			t.Fatalf("acknowledged %v while the worker is busy; want a and b", got)
		}
	}
	close(h.release)
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(acked) != 0 {
		t.Errorf("a duplicate delivery was acknowledged again")
	}
	if got := histogramCount(t, q.m, "auger_command_acknowledgement_seconds"); got != 2 {
		t.Errorf("auger_command_acknowledgement_seconds counted %d acknowledgements, want 2", got)
	}
}

func histogramCount(t *testing.T, m *metrics, name string) uint64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}
