package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
)

// agentReports serves POST /api/agent/v1/report: an agent's rollout states, turned into
// check runs, annotations, Deployment statuses and replies.
type agentReports struct {
	tokens   map[string][]byte // env → its agent token
	rollouts *commands.Rollouts
	github   func(ctx context.Context, repository string) (commands.RolloutsGitHub, error)
	timeout  time.Duration
}

// envOf finds the environment whose token the request carries, comparing every token in
// constant time so the answer's timing says nothing about any of them.
func (a *agentReports) envOf(r *http.Request) string {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || given == "" {
		return ""
	}
	match := ""
	for env, token := range a.tokens {
		if len(token) > 0 && subtle.ConstantTimeCompare([]byte(given), token) == 1 {
			match = env
		}
	}
	return match
}

func (a *agentReports) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := zerolog.Ctx(r.Context())
	env := a.envOf(r)
	if env == "" {
		log.Warn().Str("remote", r.RemoteAddr).Msg("agent report refused: missing or unknown token")
		http.Error(w, "missing or invalid agent token", http.StatusUnauthorized)
		return
	}
	if r.ContentLength > agent.MaxReportBytes {
		http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, agent.MaxReportBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the report", http.StatusBadRequest)
		return
	}
	report, err := agent.DecodeReport(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if report.Env != env {
		log.Warn().Str("token_env", env).Str("report_env", report.Env).Msg("agent report refused: token of another environment")
		http.Error(w, fmt.Sprintf("this token reports for %s, not %s", env, report.Env), http.StatusForbidden)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	updated, unknown := 0, 0
	var failed []error
	for _, s := range report.Releases {
		changed, err := a.update(ctx, env, s)
		switch {
		case errors.Is(err, commands.ErrUnknownRelease):
			unknown++
			log.Debug().Err(err).Str("env", env).Str("app", s.App).Msg("report about an unknown release ignored")
		case err != nil:
			failed = append(failed, err)
		case changed:
			updated++
		}
	}
	if len(failed) > 0 {
		log.Error().Err(errors.Join(failed...)).Str("env", env).Msg("agent report not fully told")
		http.Error(w, "could not tell GitHub everything; send again", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"updated": updated, "unknown": unknown}) //nolint:errcheck // the agent only reads the status
}

func (a *agentReports) update(ctx context.Context, env string, s agent.ReleaseState) (bool, error) {
	if s.Repository == "" || s.Release == "" {
		return false, fmt.Errorf("%w: no release or repository", commands.ErrUnknownRelease)
	}
	gh, err := a.github(ctx, s.Repository)
	if err != nil {
		return false, err
	}
	return a.rollouts.Update(ctx, gh, env, s)
}
