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
// TransportOptions.TimeUnit: at most 80 a minute and 500 an hour per installation. GitHub
// also asks for them one at a time and a second apart, which the pacer keeps for every
// request but the acknowledgement (see pacer).
const (
	LimitPerMinute = 80
	LimitPerHour   = 500
)

// pacer admits one installation's creating requests (POST, PATCH, PUT, DELETE) in two
// lanes, at most perMinute of them in any minute and perHour in any hour together:
//
//   - the ordinary lane, one request at a time, each at least spacing after the start of
//     the one before it (of either lane), the waiting request of the highest priority
//     first: what GitHub asks of integrators;
//   - the acknowledgement lane (PriorityAcknowledge), one at a time and spacing apart
//     among themselves, but not behind the ordinary lane: a 👀 goes while an ordinary
//     request is in flight or less than spacing after it. A person waits for it, and
//     GitHub's one-second spacing would otherwise make it wait up to a second behind
//     other commands' work. So at most two creating requests are in flight, and at most
//     two start in any spacing, for one installation; the minute and hour budgets hold
//     for both lanes, the acknowledgements first when they bind.
type pacer struct {
	spacing, minute, hour time.Duration
	perMinute, perHour    int

	mu      sync.Mutex
	busy    [2]bool     // a request of the lane (ordinary, acknowledgement) in flight
	starts  []time.Time // starts of the admitted requests of the last hour, oldest first
	lastAck time.Time   // start of the latest acknowledgement
	waiting []*waiter
	seq     uint64
	timer   *time.Timer
	timerAt time.Time
}

// The lanes of the pacer.
const (
	laneOrdinary = iota
	laneAcknowledge
)

type waiter struct {
	prio    Priority
	seq     uint64
	ready   chan struct{}
	granted bool
}

func (w *waiter) lane() int {
	if w.prio == PriorityAcknowledge {
		return laneAcknowledge
	}
	return laneOrdinary
}

func newPacer(unit time.Duration) *pacer {
	return &pacer{spacing: unit, minute: 60 * unit, hour: 3600 * unit, perMinute: LimitPerMinute, perHour: LimitPerHour}
}

// acquire waits for the request's turn; the caller calls the returned release when
// GitHub answered.
func (p *pacer) acquire(ctx context.Context, prio Priority) (release func(), err error) {
	p.mu.Lock()
	w := &waiter{prio: prio, seq: p.seq, ready: make(chan struct{})}
	p.seq++
	p.waiting = append(p.waiting, w)
	p.dispatch()
	p.mu.Unlock()
	release = func() { p.release(w.lane()) }
	select {
	case <-w.ready:
		return release, nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if w.granted {
			p.busy[w.lane()] = false
			p.dispatch()
		} else {
			p.remove(w)
		}
		return nil, ctx.Err()
	}
}

func (p *pacer) release(lane int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy[lane] = false
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

// next is the earliest time the limits admit another request of the lane.
func (p *pacer) next(now time.Time, lane int) time.Time {
	for len(p.starts) > 0 && (now.Sub(p.starts[0]) >= p.hour || len(p.starts) > p.perHour) {
		p.starts = p.starts[1:]
	}
	n := len(p.starts)
	if n == 0 {
		return now
	}
	at := p.starts[n-1].Add(p.spacing)
	if lane == laneAcknowledge {
		at = now
		if !p.lastAck.IsZero() {
			at = later(now, p.lastAck.Add(p.spacing))
		}
	}
	if n >= p.perMinute {
		at = later(at, p.starts[n-p.perMinute].Add(p.minute))
	}
	if n >= p.perHour {
		at = later(at, p.starts[n-p.perHour].Add(p.hour))
	}
	return at
}

// dispatch admits the best waiting request of each lane that the limits allow, and sets
// a timer for the earliest time they will allow the rest. Called with mu held.
func (p *pacer) dispatch() {
	now := time.Now()
	var wake time.Time
	for _, lane := range []int{laneAcknowledge, laneOrdinary} {
		best := p.best(lane)
		if best == nil || p.busy[lane] {
			continue
		}
		if at := p.next(now, lane); at.After(now) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		p.remove(best)
		best.granted, p.busy[lane] = true, true
		p.starts = append(p.starts, now)
		if lane == laneAcknowledge {
			p.lastAck = now
		}
		close(best.ready)
	}
	if wake.IsZero() || (p.timer != nil && !p.timerAt.After(wake)) {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timerAt = wake
	p.timer = time.AfterFunc(wake.Sub(now), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.timer = nil
		p.dispatch()
	})
}

// best is the waiting request of the lane to go first, or nil.
func (p *pacer) best(lane int) *waiter {
	var best *waiter
	for _, w := range p.waiting {
		if w.lane() != lane {
			continue
		}
		if best == nil || w.prio < best.prio || (w.prio == best.prio && w.seq < best.seq) {
			best = w
		}
	}
	return best
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
