package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/notify"
)

// pushWait is how long GET /api/agent/v1/pushes holds a request with nothing new: under the
// agent's 30-second client timeout and common proxies' idle timeouts.
const pushWait = 20 * time.Second

// pushSignal counts, per environment, the writes Auger made to its gitops repository
// (releases, rollbacks, preview clean-ups). An agent long-polls the count and, when it moves,
// asks Flux to reconcile now instead of at its next interval: the release goes live in
// seconds, not in up to a minute.
type pushSignal struct {
	mu   sync.Mutex
	seq  map[string]uint64
	wake chan struct{} // closed and replaced at every count
}

func newPushSignal() *pushSignal {
	return &pushSignal{seq: map[string]uint64{}, wake: make(chan struct{})}
}

// Notify counts an event that follows a gitops write.
func (p *pushSignal) Notify(e notify.Event) {
	switch e.Kind {
	case notify.ReleaseStarted, notify.RolledBack, notify.CleanedUp:
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq[e.Env]++
	close(p.wake)
	p.wake = make(chan struct{})
}

// wait returns the environment's count once it differs from after, or when ctx ends.
func (p *pushSignal) wait(ctx context.Context, env string, after uint64) uint64 {
	for {
		p.mu.Lock()
		seq, wake := p.seq[env], p.wake
		p.mu.Unlock()
		if seq != after {
			return seq
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return seq
		}
	}
}

// agentPushes serves GET /api/agent/v1/pushes?after=N to agents (with their token): it
// answers {"seq": M} as soon as the environment's count M is not N, or after pushWait.
// The count starts again at 0 when the server restarts: an agent treats any change as news.
type agentPushes struct {
	auth   *agentReports
	signal *pushSignal
	wait   time.Duration
}

func (a *agentPushes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	env := a.auth.envOf(r)
	if env == "" {
		zerolog.Ctx(r.Context()).Warn().Str("remote", r.RemoteAddr).Msg("agent push poll refused: missing or unknown token")
		http.Error(w, "missing or invalid agent token", http.StatusUnauthorized)
		return
	}
	var after uint64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			http.Error(w, "after must be the count of a previous answer (a non-negative integer)", http.StatusBadRequest)
			return
		}
		after = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.wait)
	defer cancel()
	seq := a.signal.wait(ctx, env, after)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]uint64{"seq": seq}) //nolint:errcheck // the agent polls again
}

// notifiers tells every notifier of an event.
type notifiers []commands.Notifier

func (ns notifiers) Notify(e notify.Event) {
	for _, n := range ns {
		n.Notify(e)
	}
}
