package commands

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/internal/text"
	"github.com/auger-dev/auger/notify"
)

// ErrUnknownRelease is returned for a report about a release Auger has no deploy check
// run for (released by hand, or long ago); the caller ignores it.
var ErrUnknownRelease = errors.New("unknown release")

// Rollouts turns the agent's reports into what developers look at: the release's
// "Auger: deploy <env>" check run (progress, conclusion, annotations on the env config's
// lines), the GitHub Deployment's status, and "live" in the pull request's reply. It
// remembers what it told last per release, so a report that changes nothing (a pod
// restarting again in the same crash loop) costs no GitHub call.
type Rollouts struct {
	Recorder     *Recorder
	Environments []EnvironmentRules
	// Notifier, when set, tells the environments' channels when a release is live or failed.
	Notifier Notifier

	tellOnce sync.Once
	told     *lru.Cache[string, string] // env/app/release → fingerprint of the state told
}

// toldReleases bounds what Rollouts remembers: forgetting a release costs one GitHub
// update that changes nothing, remembering every release forever costs memory.
const toldReleases = 10000

// Update tells GitHub one release's rollout state in env. It returns false when the
// state was told already.
func (r *Rollouts) Update(ctx context.Context, gh RolloutsGitHub, env string, s agent.ReleaseState) (bool, error) {
	key := env + "/" + s.Namespace + "/" + s.App + "/" + s.Release
	print := fingerprint(s)
	r.tellOnce.Do(func() { r.told, _ = lru.New[string, string](toldReleases) }) // a positive size cannot fail
	if told, ok := r.told.Get(key); ok && told == print {
		return false, nil
	}
	owner, name, ok := strings.Cut(s.Repository, "/")
	if !ok || s.SHA == "" {
		return false, fmt.Errorf("%w: %s has no repository or sha", ErrUnknownRelease, s.Release)
	}
	repo := RepoRef{Owner: owner, Name: name}
	runs, err := gh.CheckRuns(ctx, repo, s.SHA)
	if err != nil {
		return false, err
	}
	check, art := r.find(runs, env, s)
	if check == nil {
		return false, fmt.Errorf("%w: no %s%s check run for %s on %s@%s", ErrUnknownRelease, CheckDeployPrefix, env, s.Release, repo.FullName(), text.Short(s.SHA))
	}
	upd := CheckRun{ID: check.ID, Name: check.Name, Summary: rolloutSummary(env, s)}
	switch s.Phase {
	case agent.PhaseAvailable:
		upd.Status, upd.Conclusion = "completed", "success"
		upd.Title = fmt.Sprintf("%s is live in %s%s", s.App, env, counts(s))
	case agent.PhaseFailed:
		upd.Status, upd.Conclusion = "completed", "failure"
		upd.Title = text.Truncate(fmt.Sprintf("%s failed in %s: %s", s.App, env, s.Reason), 200)
		upd.Annotations = r.annotations(ctx, gh, repo, env, s, art)
	case agent.PhaseWaiting:
		upd.Status, upd.Title = "in_progress", "Waiting for Flux to apply the release"
	default:
		upd.Status, upd.Title = "in_progress", "Rolling out "+s.App+counts(s)
	}
	if _, err := gh.UpdateCheckRun(ctx, repo, upd); err != nil {
		return false, err
	}
	if s.Phase == agent.PhaseAvailable || s.Phase == agent.PhaseFailed {
		if err := r.finish(ctx, gh, repo, env, s, check.HTMLURL); err != nil {
			return false, err
		}
	}
	r.told.Add(key, print)
	return true, nil
}

// fingerprint is what of a state is worth telling: phase, reason, counts and which pods
// fail how, but not restart counts or timestamps, which change on every crash.
func fingerprint(s agent.ReleaseState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|", s.Phase, s.Reason, s.SHA)
	for _, w := range s.Workloads {
		fmt.Fprintf(&b, "%s/%s:%d/%d/%d/%d|", w.Kind, w.Name, w.Desired, w.Updated, w.Ready, w.Available)
	}
	for _, p := range s.Pods {
		fmt.Fprintf(&b, "%s:%s:%t:%s|", p.Name, p.Phase, p.Ready, p.Reason)
	}
	if s.Flux != nil {
		fmt.Fprintf(&b, "flux:%s:%t", s.Flux.Revision, s.Flux.Ready)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// find picks the release's deploy check run (the newest for this artifact and app)
// and the artifact check run of the same commit.
func (r *Rollouts) find(runs []CheckRun, env string, s agent.ReleaseState) (*CheckRun, *CheckRun) {
	var check, art *CheckRun
	for i := range runs {
		cr := &runs[i]
		if !r.Recorder.own(*cr) {
			continue
		}
		if cr.Name == CheckArtifact {
			art = cr
		}
		if cr.Name != CheckDeployPrefix+env {
			continue
		}
		id, apps := ParseDeployCheckID(cr.ExternalID)
		if id == s.Release && (len(apps) == 0 || contains(apps, s.App)) && (check == nil || cr.ID > check.ID) {
			check = cr
		}
	}
	return check, art
}

func counts(s agent.ReleaseState) string {
	var desired, updated, available int32
	for _, w := range s.Workloads {
		desired, updated, available = desired+w.Desired, updated+w.Updated, available+w.Available
	}
	if len(s.Workloads) == 0 {
		return ""
	}
	return fmt.Sprintf(": %d/%d updated, %d/%d available", updated, desired, available, desired)
}

// rolloutSummary is the check run's markdown: the verdict, the workloads and the pods.
func rolloutSummary(env string, s agent.ReleaseState) string {
	var b strings.Builder
	switch s.Phase {
	case agent.PhaseAvailable:
		fmt.Fprintf(&b, "🟢 `%s` `%s` is available in **%s** (namespace `%s`).\n\n", s.App, text.Short(s.SHA), env, s.Namespace)
	case agent.PhaseFailed:
		fmt.Fprintf(&b, "🔴 `%s` `%s` failed in **%s**: **%s**\n\n> %s\n\n", s.App, text.Short(s.SHA), env, s.Reason, escapeMarkdown(s.Message))
	case agent.PhaseWaiting:
		fmt.Fprintf(&b, "⏳ Waiting for Flux to apply the release of `%s` in **%s**.\n\n", s.App, env)
	default:
		fmt.Fprintf(&b, "🟡 Rolling out `%s` `%s` in **%s**.\n\n", s.App, text.Short(s.SHA), env)
	}
	if s.Flux != nil {
		fmt.Fprintf(&b, "Flux Kustomization `%s`: ready %t, revision `%s`. %s\n\n", s.Flux.Kustomization, s.Flux.Ready, s.Flux.Revision, escapeMarkdown(s.Flux.Message))
	}
	if len(s.Workloads) > 0 {
		b.WriteString("| Workload | Desired | Updated | Ready | Available |\n| --- | --- | --- | --- | --- |\n")
		for _, w := range s.Workloads {
			fmt.Fprintf(&b, "| %s/%s | %d | %d | %d | %d |\n", w.Kind, escapeMarkdown(w.Name), w.Desired, w.Updated, w.Ready, w.Available)
		}
		b.WriteString("\n")
	}
	if len(s.Pods) > 0 {
		b.WriteString("| Pod | Phase | Ready | Restarts | State |\n| --- | --- | --- | --- | --- |\n")
		for _, p := range s.Pods {
			state := p.Reason
			if p.ExitCode != nil {
				state += fmt.Sprintf(" (exit code %d)", *p.ExitCode)
			}
			if p.Message != "" {
				state += ": " + p.Message
			}
			fmt.Fprintf(&b, "| %s | %s | %t | %d | %s |\n", escapeMarkdown(p.Name), p.Phase, p.Ready, p.Restarts, escapeMarkdown(text.Truncate(state, 300)))
		}
	}
	return text.Truncate(b.String(), maxOutputText)
}

// annotations place a failure on the env config line most likely at fault: the image
// for an image pull failure, the resources for an OOM kill, the first line otherwise.
func (r *Rollouts) annotations(ctx context.Context, gh RolloutsGitHub, repo RepoRef, env string, s agent.ReleaseState, art *CheckRun) []Annotation {
	file := ""
	if art != nil {
		if a, err := ArtifactFromCheckRun(*art); err == nil {
			for _, ec := range a.Environments {
				if resolved, err := a.Resolve(ec); err == nil && resolved.App == s.App && resolved.Env == env {
					file = ec.File
				}
			}
		}
	}
	if file == "" || strings.Contains(file, " ") {
		return nil
	}
	line := 1
	var keys []string
	switch s.Reason {
	case agent.ReasonImagePull:
		keys = []string{"image:", "tag:", "repository:"}
	case agent.ReasonOOMKilled:
		keys = []string{"memory:", "resources:"}
	}
	if len(keys) > 0 {
		if data, err := gh.ReadFile(ctx, repo, s.SHA, file); err == nil {
			line = findLine(data, keys)
		}
	}
	return []Annotation{{Path: file, StartLine: line, EndLine: line, Level: "failure",
		Title: fmt.Sprintf("%s failed in %s: %s", s.App, env, s.Reason), Message: text.Truncate(s.Message, 4000)}}
}

// findLine returns the first line holding one of keys, tried in order; 1 when none does.
func findLine(data []byte, keys []string) int {
	for _, key := range keys {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			if strings.Contains(strings.TrimSpace(sc.Text()), key) {
				return n
			}
		}
	}
	return 1
}

// finish sets the Deployment's final status and says "live" (or "failed") in the reply
// on the pull request the release was asked on.
func (r *Rollouts) finish(ctx context.Context, gh RolloutsGitHub, repo RepoRef, env string, s agent.ReleaseState, checkURL string) error {
	deps, err := gh.Deployments(ctx, repo, s.SHA, env)
	if err != nil {
		return err
	}
	state, desc := "success", s.App+" is available"
	if s.Phase == agent.PhaseFailed {
		state, desc = "failure", string(s.Reason)+": "+s.Message
	}
	var rules *EnvironmentRules
	for i := range r.Environments {
		if r.Environments[i].Name == env {
			rules = &r.Environments[i]
		}
	}
	url := PreviewURL(rules, s.App)
	pr := 0
	for _, d := range deps {
		if d.Payload["artifact"] != s.Release || !deploysApp(d, s.App) {
			continue
		}
		if err := gh.CreateDeploymentStatus(ctx, repo, d.ID, DeploymentStatus{State: state, Description: text.Truncate(desc, maxStatusDesc), EnvironmentURL: url, LogURL: checkURL}); err != nil {
			return err
		}
		if n, ok := d.Payload["pr"].(float64); ok {
			pr = int(n)
		}
		break
	}
	if r.Notifier != nil {
		kind, reason := notify.ReleaseLive, ""
		if s.Phase == agent.PhaseFailed {
			kind, reason = notify.ReleaseFailed, string(s.Reason)
		}
		r.Notifier.Notify(notify.Event{Kind: kind, Env: env, App: s.App, Repository: repo.FullName(), SHA: s.SHA, Artifact: s.Release,
			Reason: reason, Message: s.Message, Time: time.Now().UTC(), CheckRunURL: checkURL, EnvironmentURL: url})
	}
	if pr == 0 {
		return nil
	}
	if rules != nil {
		state, detail := PreviewLive, ""
		if s.Phase == agent.PhaseFailed {
			state, detail = PreviewFailed, string(s.Reason)+": "+s.Message
		}
		if err := tellPreview(ctx, gh, repo, pr, rules, s.App, s.SHA, state, detail); err != nil {
			return err
		}
	}
	return r.tellReply(ctx, gh, repo, pr, env, s)
}

// tellReply appends the outcome to Auger's reply that released this app and commit.
func (r *Rollouts) tellReply(ctx context.Context, gh RolloutsGitHub, repo RepoRef, pr int, env string, s agent.ReleaseState) error {
	comments, err := gh.Comments(ctx, repo, pr)
	if err != nil {
		return err
	}
	released := fmt.Sprintf("**Released** `%s` `%s` to **%s**", s.App, text.Short(s.SHA), env)
	sort.SliceStable(comments, func(i, j int) bool { return comments[i].ID > comments[j].ID })
	for _, c := range comments {
		if !strings.Contains(c.Body, "auger:trigger=") || !strings.Contains(c.Body, released) {
			continue
		}
		line := fmt.Sprintf("🟢 **Live**: `%s` `%s` is available in **%s**.", s.App, text.Short(s.SHA), env)
		if s.Phase == agent.PhaseFailed {
			line = fmt.Sprintf("🔴 **Failed** in **%s**: %s, %s", env, s.Reason, escapeMarkdown(text.Truncate(s.Message, 300)))
		}
		if strings.Contains(c.Body, line) {
			return nil
		}
		body := c.Body
		if i := strings.LastIndex(body, "<!-- auger:trigger="); i >= 0 {
			body = strings.TrimRight(body[:i], "\n") + "\n\n" + line + "\n" + body[i:]
		}
		return gh.UpdateComment(ctx, repo, c.ID, cutComment(body))
	}
	return nil
}

// deploysApp tells whether a Deployment's payload lists app (older payloads list none).
func deploysApp(d Deployment, app string) bool {
	apps, ok := d.Payload["apps"].([]any)
	if !ok {
		return true
	}
	for _, a := range apps {
		if a == app {
			return true
		}
	}
	return false
}
