package commandstest

import (
	"fmt"
	"sync"
)

// log records the calls a fake gets and injects failures.
type log struct {
	mu    sync.Mutex
	calls []string
	// fail maps a method name to the errors its next calls return, in order.
	fail map[string][]error
}

// FailNext makes the next calls of method (its Go name, "CreateCheckRun") return errs,
// one per call.
func (l *log) FailNext(method string, errs ...error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail == nil {
		l.fail = map[string][]error{}
	}
	l.fail[method] = append(l.fail[method], errs...)
}

// call records a call and returns the failure injected for it, if any.
func (l *log) call(method string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := method
	if len(args) > 0 {
		name += " " + fmt.Sprint(args...)
	}
	l.calls = append(l.calls, name)
	if errs := l.fail[method]; len(errs) > 0 {
		l.fail[method] = errs[1:]
		return errs[0]
	}
	return nil
}

func (l *log) record(call string) { _ = l.call(call) }

// Count says how many calls a method got.
func (l *log) Count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c == method || len(c) > len(method) && c[:len(method)+1] == method+" " {
			n++
		}
	}
	return n
}

// Total is the number of calls made.
func (l *log) Total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}
