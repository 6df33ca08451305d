package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/manifests"
)

// Renderer renders one resolved env config to Kubernetes objects.
type Renderer interface {
	Render(ctx context.Context, ec artifact.EnvConfig, rel manifests.Release) ([]manifests.File, error)
}

// Authorizer decides whether a change asked of an environment may be made; the local
// CLI lets anyone act, the GitHub App applies the environment's Rules. The Releaser
// asks it before every write, with the commit it is about to write.
type Authorizer interface {
	Authorize(ctx context.Context, ask Ask) error
}

// Anyone lets every request through: the local CLI, where the gitops repository's own
// permissions are the only rule.
type Anyone struct{}

// Authorize always allows.
func (Anyone) Authorize(context.Context, Ask) error { return nil }

// Environment is where an environment's releases are written.
type Environment struct {
	Name string
	// Path is the environment's folder in the gitops repository (default Name).
	Path string
	Repo *gitops.Repo
	// Propose writes each release to a new branch for a pull request instead of the
	// environment's branch.
	Propose bool
}

// ProposalBranch names the branch a proposed release is pushed to; it is a function
// of the trigger, so a retry finds the branch it pushed before.
func ProposalBranch(env, app, key string) string {
	sum := sha256.Sum256([]byte(key))
	return "auger/" + env + "/" + app + "-" + hex.EncodeToString(sum[:5])
}

// Releaser runs releases and rollbacks.
type Releaser struct {
	Renderer   Renderer
	Authorizer Authorizer
	// Progress, when set, is told each stage as it starts ("rendering web", "writing web
	// to staging"): the CLI shows the slow ones.
	Progress func(stage string)
}

func (r *Releaser) progress(stage string) {
	if r.Progress != nil {
		r.Progress(stage)
	}
}

// DeployRequest asks for an artifact to be released to an environment: every app the
// artifact has for that environment, or only App.
type DeployRequest struct {
	Artifact *artifact.Artifact
	Env      string
	App      string
	Actor    gitops.Actor
	// Ask says who asks and through what; the Releaser completes it with the action, the
	// apps and the artifact's commit before the Authorizer judges it.
	Ask Ask
}

// Released is what one app's release did.
type Released struct {
	App       string
	Env       string
	Namespace string
	Files     []string
	Result    gitops.Result
	// Proposal is the branch the release was pushed to, when the environment takes
	// releases as pull requests.
	Proposal string
}

// renderError is an artifact that cannot be rendered as asked: its author's mistake
// (unknown env or app, a template or chart error), not Auger's.
type renderError struct{ err error }

func (e *renderError) Error() string { return e.err.Error() }
func (e *renderError) Unwrap() error { return e.err }

// Rendered is one app of an artifact, resolved for an environment and rendered.
type Rendered struct {
	// EnvConfig is the env config after templating (app, env, namespace, values).
	EnvConfig artifact.EnvConfig
	Files     []manifests.File
}

// Render resolves and renders the artifact's env configs for env (every app, or only
// app), without writing anything.
func (r *Releaser) Render(ctx context.Context, a *artifact.Artifact, env, app string) ([]Rendered, error) {
	configs, err := resolve(a, env, app)
	if err != nil {
		return nil, err
	}
	return r.render(ctx, a, configs)
}

// resolve selects and templates the artifact's env configs for env (and app).
func resolve(a *artifact.Artifact, env, app string) ([]artifact.EnvConfig, error) {
	if a == nil {
		return nil, errors.New("render: no artifact")
	}
	configs, err := a.Select(env, app)
	if err != nil {
		return nil, &renderError{err}
	}
	out := make([]artifact.EnvConfig, 0, len(configs))
	for _, ec := range configs {
		resolved, err := a.Resolve(ec)
		if err != nil {
			return nil, &renderError{err}
		}
		out = append(out, resolved)
	}
	return out, nil
}

func (r *Releaser) render(ctx context.Context, a *artifact.Artifact, configs []artifact.EnvConfig) ([]Rendered, error) {
	out := make([]Rendered, 0, len(configs))
	for _, resolved := range configs {
		r.progress(fmt.Sprintf("rendering %s with chart %s", resolved.App, chartName(resolved.Chart)))
		files, err := r.Renderer.Render(ctx, resolved, manifests.Release{
			ArtifactID: a.ID,
			Repository: a.Version.RepositoryName,
			SHA:        a.Version.SHA,
		})
		if err != nil {
			return nil, &renderError{err}
		}
		out = append(out, Rendered{EnvConfig: resolved, Files: files})
	}
	return out, nil
}

// Release renders the artifact's env configs for env and writes each app's objects to
// the environment's gitops folder, one commit per app. The request is authorized first
// (a refusal is what someone who may not release hears, before any mistake of the
// artifact's), and every app is rendered before anything is written, so a refusal, a
// bad chart or a bad template leaves the repository as it was.
func (r *Releaser) Release(ctx context.Context, env Environment, req DeployRequest) ([]Released, error) {
	configs, resolveErr := resolve(req.Artifact, req.Env, req.App)
	ask := req.Ask
	if ask.Env == nil {
		ask.Env = &EnvironmentRules{Name: env.Name, Path: env.Path}
	}
	ask.Action, ask.Apps, ask.Previews = gitops.ActionRelease, nil, len(configs) > 0
	for _, ec := range configs {
		ask.Apps = append(ask.Apps, ec.App)
		ask.Previews = ask.Previews && ec.Preview
	}
	if req.Artifact != nil {
		// The rules judge the commit the artifact releases, whatever the asker said.
		hinted := ask.Commit.Refs
		ask.Commit = artifactCommit(req.Artifact, ask.Commit.PR)
		ask.Commit.Refs = append(hinted, ask.Commit.Refs...)
	}
	if ask.Repo == (RepoRef{}) {
		ask.Repo = ask.Commit.Repo
	}
	if err := r.authorizer().Authorize(ctx, ask); err != nil {
		return nil, err
	}
	if resolveErr != nil {
		return nil, resolveErr
	}
	rendered, err := r.render(ctx, req.Artifact, configs)
	if err != nil {
		return nil, err
	}
	var done []Released
	for _, p := range rendered {
		ec := p.EnvConfig
		files := make(map[string][]byte, len(p.Files))
		names := make([]string, 0, len(p.Files))
		for _, f := range p.Files {
			files[f.Name] = f.Data
			names = append(names, f.Name)
		}
		sort.Strings(names)
		rel := gitops.Release{
			Target:    gitops.Target{Env: ec.Env, Path: env.Path, App: ec.App},
			Actor:     req.Actor,
			Namespace: ec.Namespace,
			Artifact:  req.Artifact.ID,
			Version:   req.Artifact.Version,
			Preview:   ec.Preview,
			Files:     files,
		}
		var (
			res      gitops.Result
			proposal string
			err      error
		)
		r.progress(fmt.Sprintf("writing %s to %s in %s", ec.App, ec.Env, env.Repo))
		if env.Propose {
			proposal = ProposalBranch(ec.Env, ec.App, firstNonEmpty(req.Actor.Trigger, req.Artifact.ID))
			res, err = env.Repo.Propose(ctx, rel, proposal)
		} else {
			res, err = env.Repo.Release(ctx, rel)
		}
		if err != nil {
			return done, err
		}
		if !res.Changed && !res.Recorded {
			proposal = ""
		}
		done = append(done, Released{App: ec.App, Env: ec.Env, Namespace: ec.Namespace, Files: names, Result: res, Proposal: proposal})
	}
	return done, nil
}

// RollbackRequest asks for an app to be restored to an earlier release (To: empty for
// the one before the current release, a release number, a gitops commit or an app sha).
type RollbackRequest struct {
	Env   string
	App   string
	To    string
	Actor gitops.Actor
	// Ask says who asks and through what; the Releaser completes it with the commit of
	// the release it would restore.
	Ask Ask
}

// RolledBack is what a rollback did: the release restored and the commit written.
type RolledBack struct {
	To     gitops.Entry
	Result gitops.Result
}

// Rollback restores an app's folder to the tree of an earlier release.
func (r *Releaser) Rollback(ctx context.Context, env Environment, req RollbackRequest) (RolledBack, error) {
	if req.App == "" {
		return RolledBack{}, fmt.Errorf("roll back in %s: name the app", req.Env)
	}
	ask := req.Ask
	if ask.Env == nil {
		ask.Env = &EnvironmentRules{Name: env.Name, Path: env.Path}
	}
	ask.Action, ask.Apps = gitops.ActionRollback, []string{req.App}
	// The rules judge the commit the rollback would run again, found inside the write.
	approve := func(target gitops.Entry, rec *gitops.Record) error {
		ask.Commit, ask.Previews = restoredCommit(target, rec), rec != nil && rec.Preview
		return r.authorizer().Authorize(ctx, ask)
	}
	r.progress(fmt.Sprintf("rolling back %s in %s in %s", req.App, req.Env, env.Repo))
	res, to, err := env.Repo.Rollback(ctx, gitops.Target{Env: req.Env, Path: env.Path, App: req.App}, req.To, req.Actor, approve)
	return RolledBack{To: to, Result: res}, err
}

// artifactCommit is the commit an artifact releases, with the refs its version names as
// candidates for its origin.
func artifactCommit(a *artifact.Artifact, pr *PullRequest) CommitRef {
	owner, name, _ := strings.Cut(a.Version.RepositoryName, "/")
	v := a.Version
	return CommitRef{Repo: RepoRef{Owner: owner, Name: name}, SHA: v.SHA, PR: pr, Refs: versionRefs(v)}
}

// restoredCommit is the commit a rollback restores: its log entry's, with the refs its
// release record names as candidates for its origin.
func restoredCommit(e gitops.Entry, rec *gitops.Record) CommitRef {
	repo, sha := e.Repository, e.Sha
	var refs []string
	if rec != nil {
		repo, sha = firstNonEmpty(repo, rec.Version.RepositoryName), firstNonEmpty(sha, rec.Version.SHA)
		refs = versionRefs(rec.Version)
	}
	owner, name, _ := strings.Cut(repo, "/")
	return CommitRef{Repo: RepoRef{Owner: owner, Name: name}, SHA: sha, Refs: refs}
}

// versionRefs are the branch and tag an artifact version says its commit is on. Only
// candidates: GitHub is asked whether they contain it.
func versionRefs(v artifact.Version) []string {
	var refs []string
	for _, ref := range []string{v.Tag, v.Branch, v.TargetBranch} {
		if ref != "" {
			refs = append(refs, ref)
		}
	}
	return refs
}

// Authorize judges a change that is not a release or a rollback (a lock, say) with the
// same Authorizer.
func (r *Releaser) Authorize(ctx context.Context, ask Ask) error {
	return r.authorizer().Authorize(ctx, ask)
}

func (r *Releaser) authorizer() Authorizer {
	if r.Authorizer == nil {
		return Anyone{}
	}
	return r.Authorizer
}

// AppStatus is the current state of one app in an environment.
type AppStatus struct {
	App     string
	Current gitops.Entry
	Lock    *gitops.Lock
}

// EnvStatus lists every app an environment has released, with its newest log entry and the
// lock that holds it, if any. Apps deleted since are listed with a delete entry.
func EnvStatus(ctx context.Context, env Environment) ([]AppStatus, []gitops.Lock, error) {
	log, err := env.Repo.Log(ctx, gitops.Target{Env: env.Name, Path: env.Path})
	if err != nil {
		return nil, nil, err
	}
	locks, err := env.Repo.Locks(ctx, env.Name)
	if err != nil {
		return nil, nil, err
	}
	var out []AppStatus
	seen := map[string]bool{}
	for _, e := range log {
		if seen[e.App] || e.Action == gitops.ActionLock || e.Action == gitops.ActionUnlock {
			continue
		}
		seen[e.App] = true
		out = append(out, AppStatus{App: e.App, Current: e, Lock: gitops.Locked(locks, env.Name, e.App)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, locks, nil
}

// BranchChecker tells whether a branch still exists in a repository.
type BranchChecker interface {
	BranchExists(ctx context.Context, repo RepoRef, branch string) (bool, error)
}

// Stale lists the preview apps of an environment whose branch no longer exists: what a
// missed cleanup event left behind.
func Stale(ctx context.Context, env Environment, branches BranchChecker) ([]gitops.Record, error) {
	apps, err := env.Repo.Apps(ctx, gitops.Target{Env: env.Name, Path: env.Path})
	if err != nil {
		return nil, err
	}
	var stale []gitops.Record
	for _, app := range apps {
		rec, err := env.Repo.Current(ctx, gitops.Target{Env: env.Name, Path: env.Path, App: app})
		if err != nil || rec == nil || !rec.Preview {
			continue
		}
		owner, name, ok := strings.Cut(rec.Version.RepositoryName, "/")
		branch := firstNonEmpty(rec.Version.SourceBranch, rec.Version.Branch)
		if !ok || branch == "" {
			continue
		}
		exists, err := branches.BranchExists(ctx, RepoRef{Owner: owner, Name: name}, branch)
		if err != nil {
			return stale, err
		}
		if !exists {
			stale = append(stale, *rec)
		}
	}
	return stale, nil
}
