package commands

import (
	"context"
	"errors"
	"sync"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/rs/zerolog"
)

// ReleaseByPolicy releases an artifact to every environment whose env config's deploy
// policy matches it, concurrently, and announces each release on its commit. Locked
// environments and policies the environment forbids are skipped (the artifact check
// run already says why).
func (p *PullRequests) ReleaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, a *artifact.Artifact) error {
	log := zerolog.Ctx(ctx)
	type job struct {
		rules *EnvironmentRules
		app   string
	}
	var jobs []job
	for _, ec := range a.Environments {
		resolved, err := a.Resolve(ec)
		if err != nil {
			continue
		}
		if !p.Recorder.PolicyVerdict(resolved, a.Version).Release {
			continue
		}
		rules, err := p.environment(resolved.Env)
		if err != nil {
			continue
		}
		jobs = append(jobs, job{rules: rules, app: resolved.App})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.releaseByPolicy(ctx, gh, repo, a, j.rules, j.app)
		}()
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		var ue userError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			log.Info().Err(err).Str("env", jobs[i].rules.Name).Str("app", jobs[i].app).Msg("policy release skipped")
		default:
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

func (p *PullRequests) releaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, a *artifact.Artifact, rules *EnvironmentRules, app string) error {
	env, err := p.open(ctx, rules)
	if err != nil {
		return err
	}
	unlock := p.locks.lock(rules.Name + "/" + app)
	defer unlock()
	trigger := "policy:" + a.ID + ":" + rules.Name + ":" + app
	// No person asked: the rules judge the commit (its origin), not an actor.
	ask := Ask{Env: rules, Repo: repo, GitHub: gh}
	done, err := p.Releaser.Release(ctx, env, DeployRequest{Artifact: a, Env: rules.Name, App: app, Actor: gitops.Actor{TriggeredBy: PolicyActor, Trigger: trigger}, Ask: ask})
	if err != nil {
		return classify(err)
	}
	if allRecorded(done) || !done[0].Result.Changed {
		return nil
	}
	zerolog.Ctx(ctx).Info().Str("env", rules.Name).Str("app", app).Str("commit", done[0].Result.Commit).Msg("released by policy")
	if _, err := p.land(ctx, rules, a, done, PolicyActor); err != nil {
		return err
	}
	pr := prNumber(a)
	check, err := p.announce(ctx, gh, repo, rules, a, done, PolicyActor, pr)
	if err != nil {
		return err
	}
	p.started(repo, rules, a, done, PolicyActor, pr, check)
	return nil
}
