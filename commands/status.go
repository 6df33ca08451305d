package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

// status tabulates the current release of every app per environment.
func (p *PullRequests) status(ctx context.Context, _ PullRequestsGitHub, _ Trigger, c Status) (string, error) {
	envs := p.Environments
	if c.Env != "" {
		rules, err := p.environment(c.Env)
		if err != nil {
			return "", err
		}
		envs = []EnvironmentRules{*rules}
	}
	var b strings.Builder
	b.WriteString("| Environment | App | Release | Sha | By | When | Locked |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for i := range envs {
		rules := &envs[i]
		env, err := p.open(ctx, rules)
		if err != nil {
			return "", err
		}
		apps, locks, err := EnvStatus(ctx, env)
		if err != nil {
			return "", err
		}
		if len(apps) == 0 {
			fmt.Fprintf(&b, "| %s | — | no releases yet | | | | %s |\n", rules.Name, lockedCell(locks, rules.Name, ""))
		}
		for _, st := range apps {
			e := st.Current
			release := fmt.Sprintf("%d (%s)", e.Number, e.Action)
			if e.Action == gitops.ActionDelete {
				release = "deleted"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s | %s | %s |\n", rules.Name, st.App, release, text.Short(e.Sha), escapeMarkdown(e.TriggeredBy),
				e.Time.Format("2006-01-02 15:04 MST"), lockedCell(locks, rules.Name, st.App))
		}
	}
	b.WriteString("\nRoll back with `/rollback <env> <app> [to <release>]`, using the release numbers above.\n")
	return b.String(), nil
}
