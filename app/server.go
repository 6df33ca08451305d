package app

import (
	"context"
	"path/filepath"

	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/handlers"
	"github.com/auger-dev/auger/manifests"
	"github.com/auger-dev/auger/notify"
)

// Server is `auger serve`: the GitHub App's HTTP server.
type Server struct {
	cfg      *Config
	log      zerolog.Logger
	metrics  *metrics
	queue    *queue
	clients  githubapp.ClientCreator
	handler  http.Handler
	ready    atomic.Bool
	notifier *notify.Dispatcher
}

// newNotifier builds the environments' notification channels.
func newNotifier(cfg *Config, log zerolog.Logger) *notify.Dispatcher {
	byEnv := map[string][]notify.Notifier{}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, e := range cfg.Environments {
		for _, n := range e.Notifications {
			if n.Slack != nil {
				byEnv[e.Name] = append(byEnv[e.Name], notify.NewSlack(n.ResolvedURL(), client))
			} else {
				byEnv[e.Name] = append(byEnv[e.Name], notify.NewWebhook(n.ResolvedURL(), client))
			}
		}
	}
	return notify.NewDispatcher(byEnv, log.Warn().Msgf, 30*time.Second)
}

// maxBlobs is how many env config files the server remembers by blob sha (at most
// 64 MiB, a few MiB in practice: env configs are a few kilobytes).
const maxBlobs = 1024

// NewServer wires configuration → GitHub client creator → handlers → dispatcher.
func NewServer(cfg *Config, log zerolog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, metrics: newMetrics()}
	var ghcfg githubapp.Config
	ghcfg.WebURL, ghcfg.V3APIURL = cfg.GitHub.WebURL, cfg.GitHub.APIURL
	ghcfg.App.IntegrationID, ghcfg.App.PrivateKey = cfg.GitHub.AppID, cfg.GitHub.PrivateKey
	clients, err := githubapp.NewDefaultCachingClientCreator(ghcfg,
		githubapp.WithClientUserAgent("auger/"+Version),
		// No client timeout: it would count the wait for the installation's pacer, which
		// a busy hour makes long. The transport bounds each attempt (30 s), the event's
		// deadline the whole.
		githubapp.WithClientMiddleware(func(next http.RoundTripper) http.RoundTripper {
			// Retries outside, metrics inside: every attempt is counted.
			return githubapi.Transport(s.metrics.githubTransport(next), githubapi.TransportOptions{
				TimeUnit: cfg.GitHub.PacingUnit})
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("GitHub client: %w", err)
	}
	s.clients = clients
	access := newGitopsAccess(cfg, clients, &http.Client{Transport: s.metrics.githubTransport(http.DefaultTransport)})
	rules := access.rules()
	renderer, err := manifests.NewRenderer(manifests.Options{CacheDir: cfg.Charts.CacheDir, AllowedSources: cfg.Charts.AllowedSources})
	if err != nil {
		return nil, err
	}
	recorder := &commands.Recorder{AppID: cfg.GitHub.AppID, CIChecks: cfg.CI.Checks, Environments: rules, Renderer: renderer}
	s.notifier = newNotifier(cfg, log)
	pushes := newPushSignal()
	// Channels hear of releases; agents hear of gitops writes, to have Flux fetch them now.
	tell := notifiers{s.notifier, pushes}
	pullRequests := &commands.PullRequests{
		Releaser:     &commands.Releaser{Renderer: renderer, Authorizer: commands.Rules{CI: recorder}},
		Recorder:     recorder,
		Environments: rules,
		WebURL:       cfg.GitHub.WebURL,
		Notifier:     tell,
	}
	repoClient := func(ctx context.Context, repository string) (*githubapi.Client, error) {
		id, err := access.installation(ctx, repository)
		if err != nil {
			return nil, err
		}
		client, err := clients.NewInstallationClient(id)
		if err != nil {
			return nil, fmt.Errorf("GitHub client for %s: %w", repository, err)
		}
		return githubapi.New(client), nil
	}
	dash, err := newDashboard(cfg, log, s.metrics, rules, pullRequests, repoClient)
	if err != nil {
		return nil, err
	}
	base := &handlers.Base{
		Clients:      clients,
		Recorder:     recorder,
		PullRequests: pullRequests,
		AppID:        cfg.GitHub.AppID,
		WebURL:       cfg.GitHub.WebURL,
		Observer:     s.metrics,
		Blobs:        githubapi.NewBlobs(maxBlobs),
	}
	s.queue = newQueue(cfg.Server.QueueSize, cfg.Server.Workers, cfg.Server.EventTimeout, log, s.metrics)
	if cfg.Server.StateDir != "" && cfg.Server.CatchUpWindow > 0 {
		// One journal per App: two Apps (staging and production Augers) may share a disk.
		if s.queue.journal, err = openJournal(filepath.Join(cfg.Server.StateDir, fmt.Sprintf("deliveries-%d.log", cfg.GitHub.AppID)), cfg.Server.CatchUpWindow); err != nil {
			return nil, err
		}
	}
	comments := &handlers.IssueComment{Base: base, FastAck: true}
	s.queue.acknowledge["issue_comment"] = comments.Acknowledge
	dispatcher := githubapp.NewEventDispatcher(
		[]githubapp.EventHandler{
			&handlers.CheckSuite{Base: base},
			&handlers.CheckRun{Base: base},
			&handlers.Push{Base: base},
			comments,
			&handlers.PullRequest{Base: base},
			&handlers.Delete{Base: base},
			&handlers.Installation{Base: base},
		},
		cfg.GitHub.WebhookSecret,
		githubapp.WithScheduler(s.queue),
		githubapp.WithErrorCallback(s.webhookError),
		githubapp.WithResponseCallback(s.webhookAccepted),
	)

	mux := http.NewServeMux()
	var hook, reports http.Handler = dispatcher, nil
	if dash != nil {
		hook = dash.Webhooks(dispatcher)
		mux.Handle("/", dash)
	}
	mux.Handle("POST /api/github/hook", s.webhook(hook))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	tokens := map[string][]byte{}
	for _, e := range cfg.Environments {
		tokens[e.Name] = []byte(e.ResolvedAgentToken())
	}
	reporter := &agentReports{
		tokens:   tokens,
		rollouts: &commands.Rollouts{Recorder: recorder, Environments: rules, Notifier: s.notifier},
		timeout:  cfg.Server.EventTimeout,
		github: func(ctx context.Context, repository string) (commands.RolloutsGitHub, error) {
			return repoClient(ctx, repository)
		},
	}
	reports = reporter
	if dash != nil {
		reports = dash.Reports(reporter)
	}
	mux.Handle("POST /api/agent/v1/report", reports)
	mux.Handle("GET /api/agent/v1/pushes", &agentPushes{auth: reporter, signal: pushes, wait: pushWait, tip: gitopsTip(rules), tipEvery: tipEvery})
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// go-githubapp logs through the request context; without a logger there it is silent.
		mux.ServeHTTP(w, r.WithContext(s.log.WithContext(r.Context())))
	})
	return s, nil
}

// Handler is the server's HTTP handler (tests serve it with httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// SetReady marks the server as accepting webhooks (Run does it once listening).
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// webhook caps the body before the dispatcher reads it and times the acknowledgement.
func (s *Server) webhook(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { s.metrics.ack.Observe(since(start)) }()
		if r.ContentLength > s.cfg.Server.MaxBodyBytes {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", "payload larger than the server accepts")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Server.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, outcome, msg string) {
	s.metrics.webhooks.WithLabelValues(eventOf(r), outcome).Inc()
	zerolog.Ctx(r.Context()).Warn().Str("event", eventOf(r)).Str("delivery", r.Header.Get("X-GitHub-Delivery")).
		Int("status", code).Msg("webhook refused: " + msg)
	http.Error(w, msg, code)
}

func eventOf(r *http.Request) string {
	if e := r.Header.Get("X-GitHub-Event"); e != "" && len(e) < 64 {
		return e
	}
	return "unknown"
}

// webhookError answers deliveries the dispatcher could not take: bad signatures 401,
// oversized bodies 413, malformed payloads 400, a full queue 503 (GitHub can redeliver).
func (s *Server) webhookError(w http.ResponseWriter, r *http.Request, err error) {
	var ve githubapp.ValidationError
	var tooBig *http.MaxBytesError
	isValidation := errors.As(err, &ve)
	switch {
	// ValidationError does not unwrap its cause, so look at the cause itself.
	case errors.As(err, &tooBig) || (isValidation && errors.As(ve.Cause, &tooBig)):
		s.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", "payload larger than the server accepts")
	case isValidation && strings.Contains(ve.Cause.Error(), "signature"):
		s.refuse(w, r, http.StatusUnauthorized, "unauthorized", "missing or invalid X-Hub-Signature-256")
	case isValidation:
		s.refuse(w, r, http.StatusBadRequest, "invalid", "invalid webhook: "+ve.Cause.Error())
	case errors.Is(err, githubapp.ErrCapacityExceeded):
		s.refuse(w, r, http.StatusServiceUnavailable, "dropped", "queue full; redeliver later")
	default:
		s.metrics.webhooks.WithLabelValues(eventOf(r), "error").Inc()
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("webhook intake failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (s *Server) webhookAccepted(w http.ResponseWriter, r *http.Request, event string, handled bool) {
	outcome := "accepted"
	if !handled {
		outcome = "ignored"
	}
	s.metrics.webhooks.WithLabelValues(eventOf(r), outcome).Inc()
	githubapp.DefaultResponseCallback(w, r, event, handled)
}

// Drain stops taking webhooks and waits for the queued events and notifications. Run
// does it on shutdown; a caller that serves Handler itself (tests) calls it.
func (s *Server) Drain(ctx context.Context) error {
	s.SetReady(false)
	return errors.Join(s.queue.Drain(ctx), s.notifier.Wait(ctx))
}

// Run serves until ctx ends, then stops intake (readyz fails, new connections are
// refused), drains the webhook queue and returns within the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Server.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// catchUpRounds are the waits before each catch-up at start.
var catchUpRounds = []time.Duration{0, 3 * time.Second, 15 * time.Second}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.SetReady(true)
	s.log.Info().Str("listen", ln.Addr().String()).Int64("app_id", s.cfg.GitHub.AppID).
		Int("environments", len(s.cfg.Environments)).Msg("auger serving")
	if window := s.cfg.Server.CatchUpWindow; window > 0 {
		go func() {
			// A catch-up that fails (GitHub busy, a timeout) is tried again: it is the only
			// way back for a delivery a crash lost.
			// It runs again a little later for the redeliveries that did not arrive (sent
			// before the load balancer routed to this replica); those that did are in
			// flight or done here, and are not asked twice.
			for _, wait := range catchUpRounds {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				bo := backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(), 5), ctx)
				err := backoff.Retry(func() error {
					n, err := s.CatchUp(ctx, window)
					if err == nil {
						s.log.Info().Int("redeliveries", n).Dur("window", window).Msg("asked GitHub to redeliver recent webhooks")
					}
					return err
				}, bo)
				if err != nil {
					s.log.Error().Err(err).Msg("could not catch up on webhook deliveries")
					return
				}
			}
		}()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.SetReady(false)
	s.log.Info().Msg("stopping: no new webhooks, draining the queue")
	shutdown, cancel := context.WithTimeout(context.Background(), s.cfg.Server.ShutdownTimeout)
	defer cancel()
	httpErr := srv.Shutdown(shutdown)
	if err := errors.Join(httpErr, s.Drain(shutdown), s.queue.journal.close()); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info().Msg("stopped")
	return nil
}
