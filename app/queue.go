package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// queue is the webhook scheduler: a bounded queue drained by a fixed set of workers.
// A full queue refuses the delivery (the dispatcher answers 503, so GitHub shows it as
// failed and it can be redelivered) instead of dropping it silently; a delivery already
// handled or in flight (same X-GitHub-Delivery) is acknowledged and skipped; Drain stops
// intake and waits for what is queued.
type queue struct {
	items   chan queuedEvent
	timeout time.Duration
	log     zerolog.Logger
	m       *metrics

	mu      sync.RWMutex // guards closing against sends on a closed channel
	closing bool
	workers sync.WaitGroup

	seen *deliveries
}

type queuedEvent struct {
	d      githubapp.Dispatch
	logger zerolog.Logger
	queued time.Time
}

var _ githubapp.Scheduler = (*queue)(nil)

func newQueue(size, workers int, timeout time.Duration, log zerolog.Logger, m *metrics) *queue {
	q := &queue{items: make(chan queuedEvent, size), timeout: timeout, log: log, m: m, seen: newDeliveries(10000)}
	for i := 0; i < workers; i++ {
		q.workers.Add(1)
		go q.work()
	}
	return q
}

// errMalformed marks a payload that is not JSON; the dispatcher answers 400.
var errMalformed = errors.New("payload is not valid JSON")

// Schedule queues an event, or refuses it when the queue is full or draining.
func (q *queue) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	if !json.Valid(d.Payload) {
		return githubapp.ValidationError{EventType: d.EventType, DeliveryID: d.DeliveryID, Cause: errMalformed}
	}
	if d.DeliveryID != "" && !q.seen.start(d.DeliveryID) {
		q.m.webhooks.WithLabelValues(d.EventType, "duplicate").Inc()
		zerolog.Ctx(ctx).Info().Msg("delivery already handled or in flight; skipping it")
		return nil
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closing {
		q.seen.forget(d.DeliveryID)
		q.m.drops.Inc()
		return githubapp.ErrCapacityExceeded
	}
	select {
	case q.items <- queuedEvent{d: d, logger: *zerolog.Ctx(ctx), queued: time.Now()}:
		q.m.queueDepth.Inc()
		return nil
	default:
		q.seen.forget(d.DeliveryID)
		q.m.drops.Inc()
		return githubapp.ErrCapacityExceeded
	}
}

func (q *queue) work() {
	defer q.workers.Done()
	for ev := range q.items {
		q.m.queueDepth.Dec()
		q.handle(ev)
	}
}

// handle runs one event with its own deadline; a panic is logged, never fatal.
func (q *queue) handle(ev queuedEvent) {
	ctx, cancel := context.WithTimeout(ev.logger.WithContext(context.Background()), q.timeout)
	defer cancel()
	start := time.Now()
	outcome := "handled"
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return ev.d.Execute(ctx)
	}()
	if err != nil {
		outcome = "failed"
		ev.logger.Error().Err(err).Msg("webhook handler failed")
		// A redelivery of a failed event must run again.
		q.seen.forget(ev.d.DeliveryID)
	} else {
		q.seen.done(ev.d.DeliveryID)
	}
	q.m.webhooks.WithLabelValues(ev.d.EventType, outcome).Inc()
	q.m.handled.WithLabelValues(ev.d.EventType, outcome).Observe(since(start))
}

// Drain stops intake and waits for the queued events to be handled, or for ctx.
func (q *queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		close(q.items)
	}
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain webhook queue: %d events not handled: %w", len(q.items), ctx.Err())
	}
}

// deliveries remembers recent delivery ids (bounded, oldest forgotten first).
type deliveries struct {
	mu    sync.Mutex
	state map[string]bool // false: in flight, true: handled
	order []string
	max   int
}

func newDeliveries(max int) *deliveries {
	return &deliveries{state: map[string]bool{}, max: max}
}

// start reports whether id is new, and marks it in flight.
func (d *deliveries) start(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.state[id]; ok {
		return false
	}
	d.state[id] = false
	d.order = append(d.order, id)
	for len(d.order) > d.max {
		delete(d.state, d.order[0])
		d.order = d.order[1:]
	}
	return true
}

func (d *deliveries) done(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.state[id]; ok {
		d.state[id] = true
	}
}

func (d *deliveries) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.state, id)
}
