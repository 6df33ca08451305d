package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// queue is the webhook scheduler: a bounded queue drained by a fixed set of workers.
// A full queue refuses the delivery (the dispatcher answers 503, so GitHub shows it as
// failed and it can be redelivered) instead of dropping it silently; a delivery already
// handled or in flight (same X-GitHub-Delivery) is acknowledged and skipped; Drain stops
// intake and waits for what is queued.
type queue struct {
	// journal, when set, records the deliveries handled without error.
	journal *journal
	items   chan queuedEvent
	timeout time.Duration
	log     zerolog.Logger
	m       *metrics

	mu      sync.RWMutex // guards closing against sends on a closed channel
	closing bool
	workers sync.WaitGroup

	// acknowledge, per event type, tells a person at once that their request was
	// heard (👀 on a command), in a fast lane of its own: it never waits for a worker.
	// It says whether it acknowledged (an event that holds no command is not).
	acknowledge map[string]func(ctx context.Context, payload []byte) bool
	acking      chan struct{} // bounds the acknowledgements in flight
	acks        sync.WaitGroup

	// seen holds the ids of deliveries in flight or handled, the least recently
	// started forgotten first; a failed or refused delivery is removed, so its
	// redelivery runs.
	seen *lru.Cache[string, struct{}]
}

// maxDeliveries is how many delivery ids the queue remembers to skip redeliveries.
const maxDeliveries = 10000

// maxAcks bounds the acknowledgements in flight; more wait for a free slot (never for a
// worker). They go one at a time per installation anyway (the GitHub pacer).
const maxAcks = 64

type queuedEvent struct {
	d      githubapp.Dispatch
	logger zerolog.Logger
	queued time.Time
}

var _ githubapp.Scheduler = (*queue)(nil)

func newQueue(size, workers int, timeout time.Duration, log zerolog.Logger, m *metrics) *queue {
	// lru.New fails only for a size below 1.
	seen, _ := lru.New[string, struct{}](maxDeliveries)
	q := &queue{items: make(chan queuedEvent, size), timeout: timeout, log: log, m: m, seen: seen,
		acknowledge: map[string]func(context.Context, []byte) bool{}, acking: make(chan struct{}, maxAcks)}
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
	if d.DeliveryID != "" && q.start(d.DeliveryID) {
		q.m.webhooks.WithLabelValues(d.EventType, "duplicate").Inc()
		zerolog.Ctx(ctx).Info().Msg("delivery already handled or in flight; skipping it")
		return nil
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closing {
		q.seen.Remove(d.DeliveryID)
		q.m.drops.Inc()
		return githubapp.ErrCapacityExceeded
	}
	select {
	case q.items <- queuedEvent{d: d, logger: *zerolog.Ctx(ctx), queued: time.Now()}:
		q.m.queueDepth.Inc()
		q.ack(d, *zerolog.Ctx(ctx), time.Now())
		return nil
	default:
		q.seen.Remove(d.DeliveryID)
		q.m.drops.Inc()
		return githubapp.ErrCapacityExceeded
	}
}

// ack runs the acknowledgement of a queued event in the fast lane, and measures it from
// the moment the delivery was accepted.
func (q *queue) ack(d githubapp.Dispatch, log zerolog.Logger, accepted time.Time) {
	ack := q.acknowledge[d.EventType]
	if ack == nil {
		return
	}
	q.acks.Add(1)
	go func() {
		defer q.acks.Done()
		q.acking <- struct{}{}
		defer func() { <-q.acking }()
		defer func() {
			if r := recover(); r != nil {
				log.Error().Msgf("acknowledgement panicked: %v\n%s", r, debug.Stack())
			}
		}()
		ctx, cancel := context.WithTimeout(log.WithContext(context.Background()), q.timeout)
		defer cancel()
		if ack(ctx, d.Payload) {
			q.m.acknowledged.Observe(time.Since(accepted).Seconds())
		}
	}()
}

// start marks a delivery in flight and reports whether it was already in flight or
// handled.
func (q *queue) start(id string) (seen bool) {
	seen, _ = q.seen.ContainsOrAdd(id, struct{}{})
	return seen
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
		q.seen.Remove(ev.d.DeliveryID)
	} else {
		q.journal.finished(ev.d.DeliveryID)
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
	go func() { q.workers.Wait(); q.acks.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain webhook queue: %d events not handled: %w", len(q.items), ctx.Err())
	}
}
