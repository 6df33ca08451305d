package commands

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
	"github.com/auger-dev/auger/manifests"
)

// AppDiff is what releasing one app of an artifact would change in its environment's
// gitops folder.
type AppDiff struct {
	App string `json:"app"`
	Env string `json:"env"`
	// Released says the folder holds a release of the app already.
	Released bool               `json:"released"`
	Changes  []manifests.Change `json:"changes"`
}

// Diff renders the artifact's env configs for env (every app, or only app) and compares
// each app's objects with what the environment's gitops folder holds, as a release
// would change them. It writes nothing, anywhere.
func (r *Releaser) Diff(ctx context.Context, env Environment, a *artifact.Artifact, app string) ([]AppDiff, error) {
	rendered, err := r.Render(ctx, a, env.Name, app)
	if err != nil {
		return nil, err
	}
	diffs := make([]AppDiff, 0, len(rendered))
	for _, p := range rendered {
		r.progress("comparing " + p.EnvConfig.App + " with " + env.Name)
		before, err := env.Repo.Objects(ctx, gitops.Target{Env: p.EnvConfig.Env, Path: env.Path, App: p.EnvConfig.App})
		if err != nil {
			return nil, err
		}
		after := make(map[string][]byte, len(p.Files))
		for _, f := range p.Files {
			after[f.Name] = f.Data
		}
		diffs = append(diffs, AppDiff{App: p.EnvConfig.App, Env: p.EnvConfig.Env, Released: len(before) > 0, Changes: manifests.Compare(before, after)})
	}
	return diffs, nil
}

// DiffSummary says in one line how many objects change: "3 objects change in staging
// (1 added, 1 removed, 1 changed)", or "no change in staging".
func DiffSummary(env string, diffs []AppDiff) string {
	counts := map[manifests.ChangeKind]int{}
	n := 0
	for _, d := range diffs {
		for _, c := range d.Changes {
			counts[c.Kind]++
			n++
		}
	}
	if n == 0 {
		return "no change in " + env
	}
	var parts []string
	for _, k := range []manifests.ChangeKind{manifests.Added, manifests.Removed, manifests.Changed} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	what := "objects change"
	if n == 1 {
		what = "object changes"
	}
	return fmt.Sprintf("%d %s in %s (%s)", n, what, env, strings.Join(parts, ", "))
}

// changeSigns mark each change as diff does.
var changeSigns = map[manifests.ChangeKind]string{manifests.Added: "+", manifests.Removed: "-", manifests.Changed: "~"}

// DiffText is the diff for a terminal: the summary, then each object's unified diff.
func DiffText(env string, diffs []AppDiff) string {
	var b strings.Builder
	b.WriteString(DiffSummary(env, diffs) + "\n")
	for _, d := range diffs {
		for _, c := range d.Changes {
			fmt.Fprintf(&b, "\n%s %s/%s/%s (%s)\n%s", changeSigns[c.Kind], d.Env, d.App, c.File, c.Kind, c.Diff)
		}
	}
	return b.String()
}

// diffReply is the diff as one pull-request comment of at most limit characters: the
// summary, then one <details> per object with its unified diff. What does not fit is
// cut at an object's boundary (or, for a first object larger than the whole room, at a
// line of its diff), every block closed, and the reply says how many objects were left
// out.
func diffReply(env string, a *artifact.Artifact, diffs []AppDiff, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Diff of `%s` against %s**: %s.\n", text.Short(a.Version.SHA), env, DiffSummary(env, diffs))
	for _, d := range diffs {
		if !d.Released {
			fmt.Fprintf(&b, "\n%s is not released in %s yet: every object is new.\n", d.App, env)
		}
	}
	type block struct{ head, diff string }
	var blocks []block
	for _, d := range diffs {
		for _, c := range d.Changes {
			blocks = append(blocks, block{
				head: fmt.Sprintf("\n<details><summary><code>%s %s/%s</code> %s</summary>\n\n```diff\n", changeSigns[c.Kind], d.App, c.File, c.Kind),
				diff: fenceSafe(c.Diff),
			})
		}
	}
	const tail = "```\n</details>\n"
	const leftOut = "\n… %d more objects left out: a comment holds at most %d characters. Run `auger diff` for the whole diff.\n"
	room := limit - utf8.RuneCountInString(b.String()) - utf8.RuneCountInString(fmt.Sprintf(leftOut, len(blocks), limit))
	for i, bl := range blocks {
		size := utf8.RuneCountInString(bl.head) + utf8.RuneCountInString(bl.diff) + len(tail)
		if size <= room {
			b.WriteString(bl.head + bl.diff + tail)
			room -= size
			continue
		}
		if i == 0 {
			// A first object larger than the whole room is shown as far as it fits, cut
			// at a line; later ones are left out whole.
			cut := cutLines(bl.diff, room-utf8.RuneCountInString(bl.head)-len(tail)-len("…\n"))
			b.WriteString(bl.head + cut + "…\n" + tail)
			i++
		}
		if left := len(blocks) - i; left > 0 {
			fmt.Fprintf(&b, leftOut, left, limit)
		}
		break
	}
	return b.String()
}

// fenceSafe keeps a diff from closing its code block early.
func fenceSafe(diff string) string {
	return strings.ReplaceAll(diff, "```", "`\u200b``")
}

// cutLines returns the whole lines of s that fit in n characters.
func cutLines(s string, n int) string {
	if n <= 0 {
		return ""
	}
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	cut := string(runes[:n])
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 {
		return cut[:i+1]
	}
	return ""
}

// diff answers /diff: the pull request head's artifact rendered for the environment
// and compared with what its gitops repository holds. It reads only: no write, no check
// run, and the same rules as /status.
func (p *PullRequests) diff(ctx context.Context, gh PullRequestsGitHub, t Trigger, c Diff) (string, error) {
	_, env, err := p.openEnvironment(ctx, c.Env)
	if err != nil {
		return "", err
	}
	sha, _, err := p.head(ctx, gh, t)
	if err != nil {
		return "", err
	}
	a, _, _, err := p.loadArtifact(ctx, gh, t.Repo, sha)
	if err != nil {
		return "", err
	}
	diffs, err := p.Releaser.Diff(ctx, env, a, c.App)
	if err != nil {
		return "", err
	}
	return diffReply(env.Name, a, diffs, maxComment-utf8.RuneCountInString(marker(t.ID))-1), nil
}
