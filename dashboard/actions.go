package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/auger-dev/auger/commands"
)

// Actions enter the release pipeline exactly as a comment does: the same use case
// (commands.PullRequests.Dashboard), the same Authorizer with the person's login as the
// actor (their role on the repository, the environment's teams and users, approvals
// and CI when a pull request is involved, forks, locks), recorded with the trailers
// Auger-Triggered-By: <login> and Auger-Trigger: dashboard:<form id>. The dashboard
// adds two checks of its own in front: the form carries the session's CSRF token (and
// comes from this site, by the browser's Sec-Fetch-Site/Origin), and the repository is
// one the person's own GitHub token can read.

var (
	namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	shaPattern  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// markdownLink is a Markdown link in a reply: its text is kept.
	markdownLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

type resultView struct {
	page
	Action, Env, App string
	Done             bool
	Message          string
	// Rule is the rule that refused the action, "" when it was done or failed.
	Rule   string
	Remedy string
}

// action runs Deploy, Roll back, Lock or Unlock.
func (d *Dashboard) action(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s := d.cookies.read(r)
	if s == nil {
		d.problem(w, r, http.StatusUnauthorized, "Signed out", "Sign in to act.")
		return
	}
	if err := d.csrf.Check(r); err != nil || !validCSRF(s, r.PostFormValue("csrf")) {
		d.cfg.Log.Warn().Str("login", s.Login).Str("action", r.PathValue("action")).Msg("dashboard: action refused: missing or wrong CSRF token")
		d.problem(w, r, http.StatusForbidden, "Refused", "This form did not come from your dashboard session (its CSRF token is missing or wrong). Reload the page and try again.")
		return
	}
	f := r.PostForm
	envName, app, repository, seen := f.Get("env"), f.Get("app"), f.Get("repository"), f.Get("seen")
	if (seen != "" && !shaPattern.MatchString(seen)) || !namePattern.MatchString(envName) || !namePattern.MatchString(app) {
		d.problem(w, r, http.StatusBadRequest, "Bad request", "The form is incomplete; reload the page and try again.")
		return
	}
	readable, err := d.read.readableNow(r.Context(), s)
	if err != nil {
		d.githubProblem(w, r, err)
		return
	}
	if !readable[strings.ToLower(repository)] {
		d.problem(w, r, http.StatusNotFound, "Not found", "No repository "+repository+" that you can see.")
		return
	}
	repo, err := repoRef(repository)
	if err != nil {
		d.problem(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	t := commands.Trigger{Repo: repo, Actor: s.Login}
	var cmd commands.Command
	switch r.PathValue("action") {
	case "deploy":
		sha := f.Get("sha")
		if !shaPattern.MatchString(sha) {
			d.problem(w, r, http.StatusBadRequest, "Bad request", "The form names no commit.")
			return
		}
		t.SHA = sha
		// A pull request's head is released as its pull request: approvals count.
		t.PR = d.read.pullRequestOf(r.Context(), repository, sha)
		cmd = commands.Deploy{Env: envName, App: app}
	case "rollback":
		to := f.Get("to")
		if _, err := strconv.Atoi(to); to != "" && err != nil {
			d.problem(w, r, http.StatusBadRequest, "Bad request", "The form names no release.")
			return
		}
		cmd = commands.Rollback{Env: envName, App: app, To: to}
	case "lock":
		args := []string{app}
		if reason := strings.TrimSpace(f.Get("reason")); reason != "" {
			args = append(args, strings.Fields(reason)...)
		}
		cmd = commands.Lock{Env: envName, Args: args}
	case "unlock":
		cmd = commands.Unlock{Env: envName, App: app}
	default:
		d.problem(w, r, http.StatusNotFound, "Not found", "No such action.")
		return
	}
	t.ID = commands.DashboardTriggerPrefix + formID(s, seen, cmd.String(), t.SHA)
	gh, err := d.cfg.Installation(r.Context(), repository)
	if err != nil {
		d.cfg.Log.Error().Err(err).Str("repository", repository).Msg("dashboard: no GitHub client for the action")
		d.problem(w, r, http.StatusBadGateway, "Not done", "Auger could not reach GitHub for "+repository+"; try again in a moment.")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), d.cfg.ActionTimeout)
	defer cancel()
	log := d.cfg.Log.With().Str("login", s.Login).Str("trigger", t.ID).Str("command", cmd.String()).Logger()
	ctx = log.WithContext(ctx)
	log.Info().Msg("dashboard: action")
	reply, err := d.cfg.PullRequests.Dashboard(ctx, gh, t, cmd)
	d.read.invalidate(repository, t.SHA, false)
	v := resultView{page: page{Session: s, Title: cmd.String()}, Action: cmd.String(), Env: envName, App: app}
	status := http.StatusOK
	var refusal *commands.Refusal
	switch {
	case err == nil:
		v.Done, v.Message = true, plainText(reply)
	case errors.As(err, &refusal):
		status = http.StatusForbidden
		v.Rule, v.Message, v.Remedy = refusal.Rule, refusal.Reason, refusal.Remedy
		log.Warn().Str("rule", refusal.Rule).Msg("dashboard: action refused")
	case commands.IsUserError(err):
		status = http.StatusUnprocessableEntity
		v.Message = err.Error()
		log.Warn().Err(err).Msg("dashboard: action not done")
	default:
		status = http.StatusBadGateway
		v.Message = "Auger failed to do it; the operator finds why in its log. Nothing is half done: try again."
		log.Error().Err(err).Msg("dashboard: action failed")
	}
	d.read.refresh(ctx)
	d.render(w, r, status, "result", v)
}

// formID identifies what a form asked: who (the session), on what view of the
// environment (the gitops commit the page showed) and what. The same form sent twice
// has the same id, and the pipeline, keyed on it, does it once; the page shown after
// any change carries a new one.
func formID(s *session, seen, command, sha string) string {
	mac := hmac.New(sha256.New, []byte(s.CSRF))
	mac.Write([]byte(seen + "\x00" + command + "\x00" + sha))
	return hex.EncodeToString(mac.Sum(nil))[:16]
}

// plainText turns a reply written for a pull request (Markdown) into a line of text.
func plainText(md string) string {
	md = strings.NewReplacer("**", "", "`", "", "✅ ", "", "🔒 ", "", "🔓 ", "", "⏪ ", "", "🚀 ", "").Replace(md)
	md = markdownLink.ReplaceAllString(md, "$1")
	return strings.TrimSpace(md)
}
