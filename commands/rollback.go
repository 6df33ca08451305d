package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
	"github.com/auger-dev/auger/notify"
)

// rollback restores an app to an earlier release.
func (p *PullRequests) rollback(ctx context.Context, gh PullRequestsGitHub, t Trigger, c Rollback) (string, error) {
	rules, env, err := p.openEnvironment(ctx, c.Env)
	if err != nil {
		return "", err
	}
	app := c.App
	if app == "" {
		apps, err := env.Repo.Apps(ctx, gitops.Target{Env: rules.Name, Path: rules.Path})
		if err != nil {
			return "", err
		}
		if len(apps) != 1 {
			return "", tell(&Refusal{Rule: "rollback", Reason: fmt.Sprintf("%s has %d apps (%s)", rules.Name, len(apps), joinOr(apps, "none")),
				Remedy: fmt.Sprintf("Name one: `/rollback %s <app>`", rules.Name)})
		}
		app = apps[0]
	}
	unlock := p.locks.lock(c.Env + "/" + app)
	defer unlock()
	target := gitops.Target{Env: rules.Name, Path: rules.Path, App: app}
	log, err := env.Repo.Log(ctx, target)
	if err != nil {
		return "", err
	}
	rb, err := p.Releaser.Rollback(ctx, env, RollbackRequest{Env: rules.Name, App: app, To: c.To, Actor: gitops.Actor{TriggeredBy: t.Actor, Trigger: t.ID}, Ask: p.ask(gh, t, rules)})
	if err != nil {
		return "", classify(err)
	}
	if rb.Result.Recorded {
		return "", errAlreadyDone
	}
	from := "the current release"
	if len(log) > 0 {
		from = fmt.Sprintf("release %d (`%s`)", log[0].Number, text.Short(firstNonEmpty(log[0].Sha, log[0].Commit)))
	}
	if !rb.Result.Changed {
		return fmt.Sprintf("✅ `%s` in **%s** already runs release %d (`%s`); nothing changed.\n", app, rules.Name, rb.To.Number, text.Short(rb.To.Sha)), nil
	}
	if strings.EqualFold(rb.To.Repository, t.Repo.FullName()) && rb.To.Sha != "" {
		a := &artifact.Artifact{ID: rb.To.Artifact, Version: artifact.Version{RepositoryName: rb.To.Repository, SHA: rb.To.Sha}}
		s := &shipment{repo: t.Repo, rules: rules, art: a, app: app, actor: t.Actor, trigger: t.ID, pr: t.PR,
			done: []Released{{App: app, Env: rules.Name, Result: rb.Result}}}
		if _, err := p.announce(ctx, gh, s); err != nil {
			return "", err
		}
	}
	p.tell(notify.Event{Kind: notify.RolledBack, Env: rules.Name, App: app, Repository: rb.To.Repository, SHA: rb.To.Sha, Actor: t.Actor,
		Reason: fmt.Sprintf("release %d (%s)", rb.To.Number, text.Short(rb.To.Sha)), GitopsCommitURL: gitopsURL(rules, rb.Result.Commit), PullRequestURL: prURL(p.WebURL, t.Repo, t.PR)})
	return fmt.Sprintf("⏪ **Rolled back** `%s` in **%s** from %s to release %d (`%s`): gitops commit %s.\n\nRedeploy with `/deploy %s %s`.\n",
		app, rules.Name, from, rb.To.Number, text.Short(rb.To.Sha), p.gitopsLink(rules, rb.Result.Commit), rules.Name, app), nil
}
