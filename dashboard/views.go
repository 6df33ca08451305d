package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
)

// Rollout states a cell shows.
const (
	StateLive        = "live"
	StateProgressing = "progressing"
	StateFailed      = "failed"
	StateUnknown     = "unknown"
	// StateReleased is a release in an environment without an agent: written to
	// gitops, and nothing reports on how it runs.
	StateReleased = "released"
)

// rollout is an app's live state in an environment, from its deploy check run.
type rollout struct {
	State  string
	Reason string
	URL    string
	// Told is when a report last concluded the deploy check run; Flux is what the
	// agent's last report said of Flux's Kustomization ("" when it said nothing).
	Told time.Time
	Flux string
}

// fluxLine is how commands.Rollouts tells Flux's state in a deploy check run's summary.
var fluxLine = regexp.MustCompile("Flux Kustomization `([^`]*)`: ready (true|false), revision `([^`]*)`")

// fluxOf reads Flux's state from a deploy check run's summary.
func fluxOf(summary string) string {
	m := fluxLine.FindStringSubmatch(summary)
	if m == nil {
		return ""
	}
	ready := "ready"
	if m[2] != "true" {
		ready = "not ready"
	}
	return fmt.Sprintf("Kustomization %s %s, revision %s", m[1], ready, m[3])
}

// cell is one app in one environment.
type cell struct {
	Env, App string
	// Released is false for an app the environment does not run.
	Released bool
	Record   *gitops.Record
	// CommitURL links the released commit; Origin says where it came from (a pull
	// request, a branch or a tag) and OriginURL links it.
	CommitURL, Origin, OriginURL string
	Rollout                      rollout
	// Lock is the lock that stops releases of this app here (its own or the
	// environment's), nil for none.
	Lock *gitops.Lock
}

// row is one app across the environments.
type row struct {
	App        string
	Repository string
	Cells      []cell
}

// column is one environment of the matrix.
type column struct {
	Name    string
	Lock    *gitops.Lock
	Problem string
}

// page is what every page's frame needs.
type page struct {
	Session *session
	Title   string
	// Live is the URL the live updates poll, "" for a page without them.
	Live string
}

type homeView struct {
	page
	Columns []column
	Rows    []row
}

// visibleCells builds the cells the person may see: apps whose release record names a
// repository they can read. Apps written by hand (no record) name none and stay hidden.
func (d *Dashboard) visibleCells(ctx context.Context, snap *snapshot, readable map[string]bool) ([]column, map[string]map[string]*cell, map[string]string) {
	cols := make([]column, len(snap.envs))
	cells := map[string]map[string]*cell{} // app → env → cell
	repos := map[string]string{}           // app → repository
	commits := map[string]string{}         // owner/name@sha → repository
	for i := range snap.envs {
		env := &snap.envs[i]
		cols[i] = column{Name: env.rules.Name, Lock: gitops.Locked(env.Locks, env.rules.Name, "")}
		if cols[i].Lock != nil && cols[i].Lock.App != "" {
			cols[i].Lock = nil
		}
		if env.err != nil {
			cols[i].Problem = "cannot read its gitops repository"
			d.cfg.Log.Warn().Err(env.err).Str("env", env.rules.Name).Msg("dashboard: environment unreadable")
		}
		for _, a := range env.Apps {
			rec := a.Record
			if rec == nil || !readable[strings.ToLower(rec.Version.RepositoryName)] {
				continue
			}
			if cells[a.App] == nil {
				cells[a.App] = map[string]*cell{}
			}
			c := d.cellOf(env, a.App, rec)
			cells[a.App][env.rules.Name] = &c
			repos[a.App] = rec.Version.RepositoryName
			commits[strings.ToLower(rec.Version.RepositoryName)+"@"+rec.Version.SHA] = rec.Version.RepositoryName
		}
	}
	d.read.prefetch(ctx, commits)
	for app, byEnv := range cells {
		for _, c := range byEnv {
			c.Rollout = d.rolloutOf(ctx, d.rulesOf(c.Env), app, c.Record)
		}
	}
	return cols, cells, repos
}

// cellOf describes an app's release in an environment (its rollout is filled later).
func (d *Dashboard) cellOf(env *envState, app string, rec *gitops.Record) cell {
	c := cell{Env: env.rules.Name, App: app, Released: rec != nil, Record: rec, Lock: gitops.Locked(env.Locks, env.rules.Name, app)}
	if rec == nil {
		return c
	}
	v := rec.Version
	c.CommitURL = d.cfg.WebURL + v.RepositoryName + "/commit/" + v.SHA
	switch {
	case v.Event == artifact.EventPR:
		c.Origin, c.OriginURL = "pull request", v.URL
		if n := pullNumber(v.URL); n != "" {
			c.Origin = "#" + n
		}
		if v.SourceBranch != "" {
			c.Origin += " (" + v.SourceBranch + ")"
		}
	case v.Tag != "":
		c.Origin, c.OriginURL = "tag "+v.Tag, d.cfg.WebURL+v.RepositoryName+"/releases/tag/"+v.Tag
	case v.Branch != "":
		c.Origin, c.OriginURL = v.Branch, d.cfg.WebURL+v.RepositoryName+"/tree/"+v.Branch
	}
	return c
}

var pullURL = regexp.MustCompile(`/pull/([0-9]+)$`)

func pullNumber(url string) string {
	if m := pullURL.FindStringSubmatch(url); m != nil {
		return m[1]
	}
	return ""
}

func (d *Dashboard) rulesOf(env string) *commands.EnvironmentRules {
	for i := range d.cfg.Environments {
		if d.cfg.Environments[i].Name == env {
			return &d.cfg.Environments[i]
		}
	}
	return nil
}

// rolloutOf reads an app's rollout in an environment from the newest deploy check run
// of its released artifact: the agent's reports are told there.
func (d *Dashboard) rolloutOf(ctx context.Context, rules *commands.EnvironmentRules, app string, rec *gitops.Record) rollout {
	if rec == nil || rules == nil {
		return rollout{State: StateUnknown}
	}
	runs, err := d.read.checkRuns(ctx, rec.Version.RepositoryName, rec.Version.SHA)
	if err != nil {
		return rollout{State: StateUnknown, Reason: "GitHub could not be asked"}
	}
	var check *commands.CheckRun
	for i, cr := range runs {
		if !d.cfg.Recorder.Own(cr) || cr.Name != commands.CheckDeployPrefix+rules.Name {
			continue
		}
		id, apps := commands.ParseDeployCheckID(cr.ExternalID)
		if id == rec.Artifact && (len(apps) == 0 || slices.Contains(apps, app)) && (check == nil || cr.ID > check.ID) {
			check = &runs[i]
		}
	}
	if check == nil {
		if !rules.LiveStatus {
			return rollout{State: StateReleased, Reason: "no agent reports on " + rules.Name}
		}
		return rollout{State: StateUnknown, Reason: "no deploy check run for this release"}
	}
	r := rollout{Reason: check.Title, URL: check.HTMLURL, Told: check.CompletedAt, Flux: fluxOf(check.Summary)}
	switch {
	case check.Status != "completed":
		r.State = StateProgressing
	case check.Conclusion == "success" && rules.LiveStatus:
		r.State = StateLive
	case check.Conclusion == "success":
		r.State = StateReleased
	case check.Conclusion == "failure":
		r.State = StateFailed
	default:
		r.State = StateUnknown
	}
	return r
}

// home is the matrix: environments × apps.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request) {
	s, readable := d.visitor(w, r)
	if s == nil {
		return
	}
	snap := d.read.snapshot(r.Context())
	cols, cells, repos := d.visibleCells(r.Context(), snap, readable)
	v := homeView{page: page{Session: s, Title: "Environments", Live: "/?fragment=live"}, Columns: cols}
	for app, byEnv := range cells {
		rw := row{App: app, Repository: repos[app]}
		for _, col := range cols {
			if c, ok := byEnv[col.Name]; ok {
				rw.Cells = append(rw.Cells, *c)
			} else {
				rw.Cells = append(rw.Cells, cell{Env: col.Name, App: app})
			}
		}
		v.Rows = append(v.Rows, rw)
	}
	sort.Slice(v.Rows, func(i, j int) bool { return v.Rows[i].App < v.Rows[j].App })
	d.render(w, r, http.StatusOK, "home", v)
}

type envView struct {
	page
	Env     string
	Rules   *commands.EnvironmentRules
	Commit  string
	Locks   []gitops.Lock
	Cells   []cell
	Problem string
	// LastReport is the newest rollout report told among its apps' deploy check runs,
	// and Flux what the newest one that spoke of Flux said.
	LastReport time.Time
	Flux       string
}

// envPage shows one environment: its apps, locks and rollouts.
func (d *Dashboard) envPage(w http.ResponseWriter, r *http.Request) {
	s, readable := d.visitor(w, r)
	if s == nil {
		return
	}
	rules := d.rulesOf(r.PathValue("env"))
	if rules == nil {
		d.problem(w, r, http.StatusNotFound, "No such environment", "This Auger has no environment "+r.PathValue("env")+".")
		return
	}
	snap := d.read.snapshot(r.Context())
	_, cells, _ := d.visibleCells(r.Context(), snap, readable)
	v := envView{page: page{Session: s, Title: rules.Name, Live: "/env/" + rules.Name + "?fragment=live"}, Env: rules.Name, Rules: rules}
	for _, env := range snap.envs {
		if env.rules.Name != rules.Name {
			continue
		}
		v.Commit = env.Commit
		if env.err != nil {
			v.Problem = "Auger cannot read this environment's gitops repository; see its log."
		}
		for _, l := range env.Locks {
			if l.App == "" || cells[l.App] != nil {
				v.Locks = append(v.Locks, l)
			}
		}
	}
	for _, byEnv := range cells {
		if c, ok := byEnv[rules.Name]; ok {
			v.Cells = append(v.Cells, *c)
		}
	}
	sort.Slice(v.Cells, func(i, j int) bool { return v.Cells[i].App < v.Cells[j].App })
	var fluxAt time.Time
	for _, c := range v.Cells {
		if c.Rollout.Told.After(v.LastReport) {
			v.LastReport = c.Rollout.Told
		}
		if c.Rollout.Flux != "" && !c.Rollout.Told.Before(fluxAt) {
			v.Flux, fluxAt = c.Rollout.Flux, c.Rollout.Told
		}
	}
	d.render(w, r, http.StatusOK, "env", v)
}

type logEntry struct {
	gitops.Entry
	CommitURL string
	// Restorable is true for an earlier release a rollback can restore.
	Restorable bool
	Current    bool
}

type appView struct {
	page
	Env, App  string
	Cell      cell
	Log       []logEntry
	Files     []string
	Artifacts []artifactView
	// ArtifactsProblem says why the recent artifacts are missing.
	ArtifactsProblem string
	CSRF             string
	// Seen is the gitops commit the page shows: the forms' view of the environment.
	Seen string
}

// appPage shows one app in one environment: its release, log, objects and the recent
// artifacts of its repository, with the actions.
func (d *Dashboard) appPage(w http.ResponseWriter, r *http.Request) {
	s, readable := d.visitor(w, r)
	if s == nil {
		return
	}
	envName, app := r.PathValue("env"), r.PathValue("app")
	snap := d.read.snapshot(r.Context())
	env, snapApp := findApp(snap, envName, app)
	// Whoever cannot read the app's repository learns nothing, not even that it exists.
	if env == nil || snapApp == nil || snapApp.Record == nil || !readable[strings.ToLower(snapApp.Record.Version.RepositoryName)] {
		d.problem(w, r, http.StatusNotFound, "Not found", "No app "+app+" in "+envName+" that you can see.")
		return
	}
	c := d.cellOf(env, app, snapApp.Record)
	c.Rollout = d.rolloutOf(r.Context(), env.rules, app, snapApp.Record)
	v := appView{page: page{Session: s, Title: app + " in " + envName, Live: "/app/" + envName + "/" + app + "?fragment=live"},
		Env: envName, App: app, Cell: c, Files: snapApp.Files, CSRF: s.CSRF, Seen: env.Commit}
	log, err := d.read.releaseLog(r.Context(), env, app)
	if err != nil {
		d.cfg.Log.Warn().Err(err).Str("env", envName).Str("app", app).Msg("dashboard: release log unreadable")
	}
	current := true
	for _, e := range log {
		le := logEntry{Entry: e, CommitURL: gitopsCommitURL(env.rules, e.Commit)}
		releasable := (e.Action == gitops.ActionRelease || e.Action == gitops.ActionRollback) && e.Sha != ""
		if releasable && current {
			le.Current, current = true, false
		} else if releasable {
			le.Restorable = true
		}
		v.Log = append(v.Log, le)
	}
	if v.Artifacts, err = d.read.recentArtifacts(r.Context(), snapApp.Record.Version.RepositoryName); err != nil {
		d.cfg.Log.Warn().Err(err).Str("repository", snapApp.Record.Version.RepositoryName).Msg("dashboard: recent artifacts unreadable")
		v.ArtifactsProblem = "GitHub could not be asked for the recent commits; reload in a moment."
	}
	d.render(w, r, http.StatusOK, "app", v)
}

func findApp(snap *snapshot, env, app string) (*envState, *gitops.AppSnapshot) {
	for i := range snap.envs {
		if snap.envs[i].rules.Name != env {
			continue
		}
		for j := range snap.envs[i].Apps {
			if snap.envs[i].Apps[j].App == app {
				return &snap.envs[i], &snap.envs[i].Apps[j]
			}
		}
		return &snap.envs[i], nil
	}
	return nil, nil
}

func gitopsCommitURL(rules *commands.EnvironmentRules, sha string) string {
	if rules.GitopsCommitURL == nil {
		return ""
	}
	return rules.GitopsCommitURL(sha)
}

// visitor is the signed-in person and the repositories they can read; a nil session when
// the page was answered already (the sign-in page, or GitHub's problem).
func (d *Dashboard) visitor(w http.ResponseWriter, r *http.Request) (*session, map[string]bool) {
	s := d.signedIn(w, r)
	if s == nil {
		return nil, nil
	}
	readable, err := d.read.readable(r.Context(), s)
	if err != nil {
		d.githubProblem(w, r, err)
		return nil, nil
	}
	return s, readable
}

// githubProblem answers a page GitHub could not serve: a token GitHub no longer takes
// signs the person out.
func (d *Dashboard) githubProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, commands.ErrUnauthorized) {
		d.cookies.clear(w, sessionCookie, d.secure(r))
		d.problem(w, r, http.StatusUnauthorized, "Signed out", "GitHub no longer accepts your sign-in. Sign in again.")
		return
	}
	d.cfg.Log.Warn().Err(err).Msg("dashboard: GitHub could not be asked")
	d.problem(w, r, http.StatusBadGateway, "GitHub did not answer", "GitHub could not be asked what you can see; reload in a moment.")
}
