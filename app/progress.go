package app

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// slowAfter is how long a stage runs before the terminal is told about it.
const slowAfter = time.Second

// progress tells the terminal about stages of CLI work that take longer than slowAfter
// (a first clone of a gitops repository, a chart download): one line on w when a stage
// has run that long, nothing for quick ones, and nothing at all when the output is JSON.
// The returned stop ends the last stage.
func progress(w io.Writer, quiet bool) (stage func(what string), stop func()) {
	if quiet {
		return func(string) {}, func() {}
	}
	var (
		mu      sync.Mutex
		timer   *time.Timer
		current int // the stage a timer may tell; 0 once stopped
	)
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		current = 0
		if timer != nil {
			timer.Stop()
		}
	}
	n := 0
	stage = func(what string) {
		mu.Lock()
		defer mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		n++
		mine := n
		current = mine
		timer = time.AfterFunc(slowAfter, func() {
			mu.Lock()
			defer mu.Unlock()
			if current == mine { // not replaced by a later stage, not stopped
				fmt.Fprintf(w, "auger: %s…\n", what)
			}
		})
	}
	return stage, stop
}
