package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/manifests"
)

// Renderer renders one resolved env config to Kubernetes objects.
type Renderer interface {
	Render(ctx context.Context, ec artifact.EnvConfig, rel manifests.Release) ([]manifests.File, error)
}

// Authorizer decides whether whoever asks may act on an environment; the local CLI
// lets anyone act, the GitHub App applies the environment's rules.
type Authorizer interface {
	Authorize(ctx context.Context, action gitops.Action, env, app string) error
}

// Anyone lets every request through: the local CLI, where the gitops repository's own
// permissions are the only rule.
type Anyone struct{}

// Authorize always allows.
func (Anyone) Authorize(context.Context, gitops.Action, string, string) error { return nil }

// Environment is where an environment's releases are written.
type Environment struct {
	Name string
	// Path is the environment's folder in the gitops repository (default Name).
	Path string
	Repo *gitops.Repo
}

// Releaser runs releases and rollbacks.
type Releaser struct {
	Renderer   Renderer
	Authorizer Authorizer
}

// DeployRequest asks for an artifact to be released to an environment: every app the
// artifact has for that environment, or only App.
type DeployRequest struct {
	Artifact *artifact.Artifact
	Env      string
	App      string
	Actor    gitops.Actor
}

// Released is what one app's release did.
type Released struct {
	App       string
	Env       string
	Namespace string
	Files     []string
	Result    gitops.Result
}

// Release renders the artifact's env configs for env and writes each app's objects to
// the environment's gitops folder, one commit per app. Every app is rendered before
// anything is written, so a bad chart or template leaves the repository as it was.
func (r *Releaser) Release(ctx context.Context, env Environment, req DeployRequest) ([]Released, error) {
	if req.Artifact == nil {
		return nil, errors.New("release: no artifact")
	}
	configs, err := req.Artifact.Select(req.Env, req.App)
	if err != nil {
		return nil, err
	}
	type rendered struct {
		ec    artifact.EnvConfig
		files map[string][]byte
		names []string
	}
	var plans []rendered
	for _, ec := range configs {
		resolved, err := req.Artifact.Resolve(ec)
		if err != nil {
			return nil, err
		}
		if err := r.authorizer().Authorize(ctx, gitops.ActionRelease, resolved.Env, resolved.App); err != nil {
			return nil, err
		}
		files, err := r.Renderer.Render(ctx, resolved, manifests.Release{
			ArtifactID: req.Artifact.ID,
			Repository: req.Artifact.Version.RepositoryName,
			SHA:        req.Artifact.Version.SHA,
		})
		if err != nil {
			return nil, err
		}
		p := rendered{ec: resolved, files: make(map[string][]byte, len(files))}
		for _, f := range files {
			p.files[f.Name] = f.Data
			p.names = append(p.names, f.Name)
		}
		sort.Strings(p.names)
		plans = append(plans, p)
	}
	var done []Released
	for _, p := range plans {
		res, err := env.Repo.Release(ctx, gitops.Release{
			Target:    gitops.Target{Env: p.ec.Env, Path: env.Path, App: p.ec.App},
			Actor:     req.Actor,
			Namespace: p.ec.Namespace,
			Artifact:  req.Artifact.ID,
			Version:   req.Artifact.Version,
			Files:     p.files,
		})
		if err != nil {
			return done, err
		}
		done = append(done, Released{App: p.ec.App, Env: p.ec.Env, Namespace: p.ec.Namespace, Files: p.names, Result: res})
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
	if err := r.authorizer().Authorize(ctx, gitops.ActionRollback, req.Env, req.App); err != nil {
		return RolledBack{}, err
	}
	res, to, err := env.Repo.Rollback(ctx, gitops.Target{Env: req.Env, Path: env.Path, App: req.App}, req.To, req.Actor)
	return RolledBack{To: to, Result: res}, err
}

func (r *Releaser) authorizer() Authorizer {
	if r.Authorizer == nil {
		return Anyone{}
	}
	return r.Authorizer
}
