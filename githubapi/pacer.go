package githubapi

import (
	"context"
	"sync"
	"time"
)

// Priority orders the creating requests that wait for one installation's pacer: a
// request of a lower value goes first, requests of one priority in the order they came.
type Priority int

// What a person waits to see goes before what they do not.
const (
	// PriorityAcknowledge is the 👀 on a command: the person who commented waits for it.
	PriorityAcknowledge Priority = iota
	// PriorityReply is the answer to a command (a comment on the pull request).
	PriorityReply
	// PriorityAnnounce is everything else: check runs, Deployments and their statuses,
	// recordings, previews.
	PriorityAnnounce
)

type priorityKey struct{}

// WithPriority marks the creating requests made with ctx; unmarked ones are
// PriorityAnnounce.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priorityOf(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok {
		return p
	}
	return PriorityAnnounce
}

// GitHub's documented secondary limits on content-creating requests, in the seconds of
// TransportOptions.TimeUnit: one at a time and at least a second apart per installation,
// at most 80 a minute and 500 an hour.
const (
	LimitPerMinute = 80
	LimitPerHour   = 500
)

// pacer admits one installation's creating requests (POST, PATCH, PUT, DELETE) one at a
// time, at least spacing apart, at most perMinute in any minute and perHour in any hour,
// the waiting request of the highest priority first.
type pacer struct {
	spacing, minute, hour time.Duration
	perMinute, perHour    int

	mu      sync.Mutex
	busy    bool
	starts  []time.Time // starts of the admitted requests of the last hour, oldest first
	waiting []*waiter
	seq     uint64
	timer   *time.Timer
}

type waiter struct {
	prio    Priority
	seq     uint64
	ready   chan struct{}
	granted bool
}

func newPacer(unit time.Duration) *pacer {
	return &pacer{spacing: unit, minute: 60 * unit, hour: 3600 * unit, perMinute: LimitPerMinute, perHour: LimitPerHour}
}

// acquire waits for the request's turn; the caller calls release when GitHub answered.
func (p *pacer) acquire(ctx context.Context, prio Priority) error {
	p.mu.Lock()
	w := &waiter{prio: prio, seq: p.seq, ready: make(chan struct{})}
	p.seq++
	p.waiting = append(p.waiting, w)
	p.dispatch()
	p.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if w.granted {
			p.busy = false
			p.dispatch()
		} else {
			p.remove(w)
		}
		return ctx.Err()
	}
}

func (p *pacer) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = false
	p.dispatch()
}

func (p *pacer) remove(w *waiter) {
	for i, o := range p.waiting {
		if o == w {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}

// next is the earliest time the limits admit another request.
func (p *pacer) next(now time.Time) time.Time {
	for len(p.starts) > 0 && (now.Sub(p.starts[0]) >= p.hour || len(p.starts) > p.perHour) {
		p.starts = p.starts[1:]
	}
	n := len(p.starts)
	if n == 0 {
		return now
	}
	at := p.starts[n-1].Add(p.spacing)
	if n >= p.perMinute {
		at = later(at, p.starts[n-p.perMinute].Add(p.minute))
	}
	if n >= p.perHour {
		at = later(at, p.starts[n-p.perHour].Add(p.hour))
	}
	return at
}

// dispatch admits the best waiting request when the limits allow, or sets a timer for
// when they will. Called with mu held.
func (p *pacer) dispatch() {
	if p.busy || len(p.waiting) == 0 {
		return
	}
	now := time.Now()
	if at := p.next(now); at.After(now) {
		if p.timer == nil {
			p.timer = time.AfterFunc(at.Sub(now), func() {
				p.mu.Lock()
				defer p.mu.Unlock()
				p.timer = nil
				p.dispatch()
			})
		}
		return
	}
	best := p.waiting[0]
	for _, w := range p.waiting[1:] {
		if w.prio < best.prio || (w.prio == best.prio && w.seq < best.seq) {
			best = w
		}
	}
	p.remove(best)
	best.granted, p.busy = true, true
	p.starts = append(p.starts, now)
	close(best.ready)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
