package githubapi

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The ordinary lane admits one request at a time, a unit apart, the most urgent waiting
// first.
func TestPacerOrderAndSpacing(t *testing.T) {
	const unit = 20 * time.Millisecond
	p := newPacer(unit)
	ctx := context.Background()
	// Hold the pacer so that the others queue up behind it.
	hold, err := p.acquire(ctx, PriorityAnnounce)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []Priority
		times []time.Time
		wg    sync.WaitGroup
	)
	for _, prio := range []Priority{PriorityAnnounce, PriorityAnnounce, PriorityReply, PriorityReply} {
		wg.Add(1)
		go func(prio Priority) {
			defer wg.Done()
			release, err := p.acquire(ctx, prio)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order, times = append(order, prio), append(times, time.Now())
			mu.Unlock()
			release()
		}(prio)
		time.Sleep(5 * time.Millisecond) // let it queue in this order
	}
	hold()
	wg.Wait()
	want := []Priority{PriorityReply, PriorityReply, PriorityAnnounce, PriorityAnnounce}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %v, want %v", order, want)
		}
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < unit-time.Millisecond {
			t.Errorf("requests %d and %d %v apart, want at least %v", i-1, i, d, unit)
		}
	}
}

// An acknowledgement waits neither for the ordinary request in flight nor for the unit
// after it; acknowledgements keep a unit between themselves, and the ordinary request
// after an acknowledgement waits a unit for it.
func TestPacerAcknowledgementLane(t *testing.T) {
	const unit = 200 * time.Millisecond
	p := newPacer(unit)
	ctx := context.Background()
	start := time.Now()
	hold, err := p.acquire(ctx, PriorityAnnounce) // in flight throughout
	if err != nil {
		t.Fatal(err)
	}
	ack := func() time.Duration {
		release, err := p.acquire(ctx, PriorityAcknowledge)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		return time.Since(start)
	}
	if first := ack(); first > unit/4 {
		t.Errorf("the first acknowledgement waited %v behind an ordinary request", first)
	}
	if second := ack(); second < unit-5*time.Millisecond || second > unit+unit/4 {
		t.Errorf("the second acknowledgement came %v after the start, want a unit (%v) after the first", second, unit)
	}
	hold()
	release, err := p.acquire(ctx, PriorityAnnounce)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if next := time.Since(start); next < 2*unit-5*time.Millisecond {
		t.Errorf("the ordinary request after an acknowledgement came %v after the start, want a unit after the acknowledgement (%v)", next, 2*unit)
	}
}

// The minute and hour budgets hold however fast the requests come, in both lanes.
func TestPacerBudgets(t *testing.T) {
	p := &pacer{spacing: time.Microsecond, minute: 200 * time.Millisecond, hour: time.Hour, perMinute: 5, perHour: 8}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	var times []time.Duration
	for i := 0; i < 8; i++ {
		prio := PriorityAnnounce
		if i%2 == 1 {
			prio = PriorityAcknowledge
		}
		release, err := p.acquire(ctx, prio)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
		release()
	}
	if times[4] > 100*time.Millisecond || times[5] < 200*time.Millisecond {
		t.Errorf("admitted at %v; want 5 at once, the 6th a minute (200 ms) after the 1st", times)
	}
	// The hour's 8 are spent: a 9th waits past the context.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := p.acquire(short, PriorityAcknowledge); err == nil {
		t.Error("a 9th request within the hour was admitted")
	}
	if len(p.waiting) != 0 || p.busy[laneOrdinary] || p.busy[laneAcknowledge] {
		t.Errorf("a cancelled request stayed: waiting %d, busy %v", len(p.waiting), p.busy)
	}
}
