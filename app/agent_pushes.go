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
	tips map[string]string // the gitops tip last read per environment, see observe
	wake chan struct{}     // closed and replaced at every count
}

func newPushSignal() *pushSignal {
	return &pushSignal{seq: map[string]uint64{}, tips: map[string]string{}, wake: make(chan struct{})}
}

// count moves env's count and wakes the polls. Callers hold p.mu.
func (p *pushSignal) count(env string) {
	p.seq[env]++
	close(p.wake)
	p.wake = make(chan struct{})
}

// observe records env's gitops tip as read from the remote. A tip that moved since the
// last reading counts as a write: another replica's, which this replica never hears of
// (its own writes count twice, which costs one extra reconcile).
func (p *pushSignal) observe(env, tip string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.tips[env]
	p.tips[env] = tip
	if prev != "" && tip != prev {
		p.count(env)
	}
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
	p.count(e.Env)
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
	// tip reads an environment's gitops tip; nil when no replica but this one writes.
	// While an agent polls, it is read every tipEvery, so that a write by another
	// replica wakes the poll too (one git request a reading when nothing changed).
	tip      func(ctx context.Context, env string) (string, error)
	tipEvery time.Duration
}

// watchTip reads env's gitops tip now and every tipEvery until ctx (the poll) ends.
func (a *agentPushes) watchTip(ctx context.Context, env string) {
	tick := time.NewTicker(a.tipEvery)
	defer tick.Stop()
	for {
		if tip, err := a.tip(ctx, env); err == nil && tip != "" {
			a.signal.observe(env, tip)
		} else if err != nil && ctx.Err() == nil {
			zerolog.Ctx(ctx).Debug().Err(err).Str("env", env).Msg("agent push poll: gitops tip not read")
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
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
	if a.tip != nil {
		go a.watchTip(ctx, env)
	}
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

// tipEvery is how often a replica reads an environment's gitops tip while an agent polls it.
const tipEvery = 3 * time.Second

// gitopsTip reads an environment's gitops tip through the replica's own clone (a fetch: one
// request when nothing is new).
func gitopsTip(rules []commands.EnvironmentRules) func(ctx context.Context, env string) (string, error) {
	return func(ctx context.Context, env string) (string, error) {
		for i := range rules {
			r := &rules[i]
			if r.Name != env || r.Gitops == nil {
				continue
			}
			repo, err := r.Gitops(ctx)
			if err != nil {
				return "", err
			}
			return repo.Tip(ctx)
		}
		return "", nil
	}
}
