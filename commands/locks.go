package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/auger-dev/auger/gitops"
)

// appNames are the app names a person can mean in an environment: those it has released
// and those the pull request's artifact has for it (an app not released yet can be
// locked before its first release).
func (p *PullRequests) appNames(ctx context.Context, gh PullRequestsGitHub, t Trigger, rules *EnvironmentRules, env Environment) ([]string, error) {
	apps, err := env.Repo.Apps(ctx, gitops.Target{Env: rules.Name, Path: rules.Path})
	if err != nil {
		return nil, err
	}
	if t.PR == 0 {
		return apps, nil
	}
	sha, _, err := p.head(ctx, gh, t)
	if err != nil {
		return nil, err
	}
	a, _, _, err := p.loadArtifact(ctx, gh, t.Repo, sha)
	var ue userError
	if errors.As(err, &ue) {
		return apps, nil // no artifact (yet): the environment's names are all there is
	}
	if err != nil {
		return nil, err
	}
	for _, ec := range a.Environments {
		if resolved, err := a.Resolve(ec); err == nil && resolved.Env == rules.Name && !contains(apps, resolved.App) {
			apps = append(apps, resolved.App)
		}
	}
	return apps, nil
}

// lock freezes an environment, or one app in it, against releases.
func (p *PullRequests) lock(ctx context.Context, gh PullRequestsGitHub, t Trigger, c Lock) (string, error) {
	rules, env, err := p.openEnvironment(ctx, c.Env)
	if err != nil {
		return "", err
	}
	ask := p.ask(gh, t, rules)
	ask.Action = gitops.ActionLock
	if err := p.Releaser.Authorize(ctx, ask); err != nil {
		return "", err
	}
	apps, err := p.appNames(ctx, gh, t, rules, env)
	if err != nil {
		return "", err
	}
	app, reason := c.Split(func(name string) bool { return contains(apps, name) })
	res, err := env.Repo.Lock(ctx, gitops.Lock{Env: rules.Name, App: app, By: t.Actor, Reason: reason}, gitops.Actor{TriggeredBy: t.Actor, Trigger: t.ID})
	if err != nil {
		return "", classify(err)
	}
	if res.Recorded {
		return "", errAlreadyDone
	}
	what := "**" + rules.Name + "**"
	if app != "" {
		what = "`" + app + "` in **" + rules.Name + "**"
	}
	if !res.Changed {
		return fmt.Sprintf("🔒 %s was already locked; the first lock stands. See `/status %s`.\n", what, rules.Name), nil
	}
	why := ""
	if reason != "" {
		why = ": " + escapeMarkdown(reason)
	}
	return fmt.Sprintf("🔒 **Locked** %s against releases%s. Unlock with `/unlock %s%s`.\n", what, why, rules.Name, prefixed(app)), nil
}

func (p *PullRequests) unlock(ctx context.Context, gh PullRequestsGitHub, t Trigger, c Unlock) (string, error) {
	rules, err := p.environment(c.Env)
	if err != nil {
		return "", err
	}
	env, err := p.open(ctx, rules)
	if err != nil {
		return "", err
	}
	locks, err := env.Repo.Locks(ctx, rules.Name)
	if err != nil {
		return "", err
	}
	var held *gitops.Lock
	for i, l := range locks {
		if l.App == c.App {
			held = &locks[i]
		}
	}
	what := "**" + rules.Name + "**"
	if c.App != "" {
		what = "`" + c.App + "` in **" + rules.Name + "**"
	}
	if held == nil {
		// A redelivered /unlock finds the lock it lifted gone: its reply is there.
		if replied, err := p.replied(ctx, gh, t); err != nil || replied {
			return "", errors.Join(err, errAlreadyDone)
		}
		if envLock := gitops.Locked(locks, rules.Name, ""); c.App != "" && envLock != nil {
			return "", tell(&Refusal{Rule: "lock", Reason: fmt.Sprintf("%s has no lock of its own, but %s is locked by %s since %s%s, which stops every release there",
				c.App, rules.Name, envLock.By, envLock.Time.Format("2006-01-02 15:04 MST"), lockReason(envLock.Reason)),
				Remedy: fmt.Sprintf("Lift the environment's lock with /unlock %s", rules.Name)})
		}
		return fmt.Sprintf("🔓 %s is not locked; nothing to do.\n", what), nil
	}
	// Who may deploy may unlock, and so may whoever locked.
	ask := p.ask(gh, t, rules)
	ask.Action, ask.Holder = gitops.ActionUnlock, held.By
	if err := p.Releaser.Authorize(ctx, ask); err != nil {
		return "", err
	}
	res, err := env.Repo.Unlock(ctx, rules.Name, c.App, gitops.Actor{TriggeredBy: t.Actor, Trigger: t.ID})
	if err != nil {
		return "", classify(err)
	}
	if res.Recorded {
		return "", errAlreadyDone
	}
	return fmt.Sprintf("🔓 **Unlocked** %s (locked by %s since %s).\n", what, escapeMarkdown(held.By), held.Time.Format("2006-01-02 15:04 MST")), nil
}

func lockReason(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
