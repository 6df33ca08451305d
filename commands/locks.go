package commands

import (
	"context"
	"fmt"

	"github.com/auger-dev/auger/gitops"
)

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
	apps, err := env.Repo.Apps(ctx, gitops.Target{Env: rules.Name, Path: rules.Path})
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
