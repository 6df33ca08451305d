package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

func (p *PullRequests) gitopsLink(rules *EnvironmentRules, sha string) string {
	if rules.GitopsCommitURL != nil {
		if u := rules.GitopsCommitURL(sha); u != "" {
			return fmt.Sprintf("[`%s`](%s)", text.Short(sha), u)
		}
	}
	return "`" + text.Short(sha) + "`"
}

func (p *PullRequests) releasedReply(rules *EnvironmentRules, a *artifact.Artifact, done []landed, check CheckRun) string {
	var b strings.Builder
	for _, r := range done {
		if r.pr.Number != 0 {
			link := fmt.Sprintf("[#%d](%s)", r.pr.Number, r.pr.HTMLURL)
			switch {
			case r.merged != "":
				fmt.Fprintf(&b, "🚀 **Released** `%s` `%s` to **%s**: gitops pull request %s, merged as %s.\n\n", r.App, text.Short(a.Version.SHA), r.Env, link, p.gitopsLink(rules, r.merged))
			case r.unmergeable:
				fmt.Fprintf(&b, "⏸️ **Proposed** `%s` `%s` for **%s** in gitops pull request %s; GitHub will not merge it yet (conflicts or branch protection). It releases when someone merges it.\n\n", r.App, text.Short(a.Version.SHA), r.Env, link)
			default:
				fmt.Fprintf(&b, "⏸️ **Proposed** `%s` `%s` for **%s** in gitops pull request %s; it releases when someone merges it.\n\n", r.App, text.Short(a.Version.SHA), r.Env, link)
			}
			continue
		}
		if !r.Result.Changed {
			fmt.Fprintf(&b, "✅ `%s` `%s` is already released to **%s** (gitops %s); nothing changed.\n\n", r.App, text.Short(a.Version.SHA), r.Env, p.gitopsLink(rules, r.Result.Commit))
			continue
		}
		d := r.Result.Diff
		fmt.Fprintf(&b, "🚀 **Released** `%s` `%s` to **%s**: gitops commit %s.\n\n", r.App, text.Short(a.Version.SHA), r.Env, p.gitopsLink(rules, r.Result.Commit))
		if len(d.Added)+len(d.Changed)+len(d.Removed) == 0 {
			continue // recovered after a crash: what changed is in the gitops commit
		}
		fmt.Fprintf(&b, "<details><summary>Objects: %d added, %d changed, %d removed</summary>\n\n", len(d.Added), len(d.Changed), len(d.Removed))
		for _, group := range []struct {
			what  string
			names []string
		}{{"added", d.Added}, {"changed", d.Changed}, {"removed", d.Removed}} {
			for _, n := range group.names {
				fmt.Fprintf(&b, "- %s `%s`\n", group.what, n)
			}
		}
		b.WriteString("\n</details>\n\n")
	}
	watch := "the **" + CheckDeployPrefix + rules.Name + "** check"
	if check.HTMLURL != "" {
		watch = fmt.Sprintf("[%s%s](%s)", CheckDeployPrefix, rules.Name, check.HTMLURL)
	}
	app := ""
	if len(done) == 1 {
		app = " " + done[0].App
	}
	fmt.Fprintf(&b, "Next: watch the rollout in %s · undo with `/rollback %s%s` · see everything with `/status %s`\n", watch, rules.Name, app, rules.Name)
	return b.String()
}

func failureReply(cmd Command, err error) string {
	var ue userError
	what := "Auger could not run"
	if errors.As(err, &ue) {
		what = "Not done:"
	}
	name := "the command"
	if cmd != nil {
		name = "`" + cmd.String() + "`"
	}
	return fmt.Sprintf("😕 %s %s\n\n> %s\n", what, name, escapeMarkdown(err.Error()))
}

// marker tags Auger's replies with their trigger, so a retry can find what it wrote.
func marker(trigger string) string {
	return "<!-- auger:trigger=" + strings.ReplaceAll(trigger, "--", "") + " -->"
}

func lockedCell(locks []gitops.Lock, env, app string) string {
	if l := gitops.Locked(locks, env, app); l != nil {
		cell := "🔒 " + escapeMarkdown(l.By)
		if l.Reason != "" {
			cell += ": " + escapeMarkdown(l.Reason)
		}
		return cell
	}
	return "no"
}

func prefixed(app string) string {
	if app == "" {
		return ""
	}
	return " " + app
}
