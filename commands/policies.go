package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/text"
	"github.com/rs/zerolog"
)

// ReleaseByPolicy releases an artifact, recorded as artifactRun, to every environment
// whose env config's deploy policy matches it, concurrently, each through the release
// pipeline, and writes what each did into the artifact check run: released (with its
// gitops commit), not released (a rule refused: locked, a fork, ...) or failed (Auger's
// own error, returned, so GitHub's redelivery or the next check event retries it). It is
// idempotent: a policy marked done in the check run is not run again, and one cut short
// by a crash resumes where it stopped.
func (p *PullRequests) ReleaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, artifactRun CheckRun) error {
	a, err := ArtifactFromCheckRun(artifactRun)
	if err != nil {
		return fmt.Errorf("read the artifact recorded on %s: %w", text.Short(artifactRun.HeadSHA), err)
	}
	jobs := p.pendingPolicies(a, artifactRun)
	if len(jobs) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs[i].err = p.releaseByPolicy(ctx, gh, repo, a, &jobs[i])
		}()
	}
	wg.Wait()
	var failed []error
	for _, j := range jobs {
		var ue userError
		switch {
		case j.err == nil:
		case errors.As(j.err, &ue):
			zerolog.Ctx(ctx).Info().Err(j.err).Str("env", j.rules.Name).Str("app", j.app).Msg("policy release refused")
		default:
			failed = append(failed, fmt.Errorf("policy release of %s to %s: %w", j.app, j.rules.Name, j.err))
		}
	}
	if err := p.tellPolicies(ctx, gh, repo, artifactRun, jobs); err != nil {
		failed = append(failed, err)
	}
	return errors.Join(failed...)
}

// PoliciesPending tells whether an artifact check run has deploy policies that matched
// and are not done yet: what a redelivered or later check event resumes.
func (p *PullRequests) PoliciesPending(artifactRun CheckRun) bool {
	a, err := ArtifactFromCheckRun(artifactRun)
	return err == nil && len(p.pendingPolicies(a, artifactRun)) > 0
}

// policyJob is one env config a deploy policy releases, and how it went.
type policyJob struct {
	rules  *EnvironmentRules
	app    string
	commit string // the gitops commit, when released
	err    error
}

// pendingPolicies lists the policies that match the artifact and are not marked done.
func (p *PullRequests) pendingPolicies(a *artifact.Artifact, artifactRun CheckRun) []policyJob {
	var jobs []policyJob
	for _, ec := range a.Environments {
		resolved, err := a.Resolve(ec)
		if err != nil || !p.Recorder.PolicyVerdict(resolved, a.Version).Release {
			continue
		}
		rules, err := p.environment(resolved.Env)
		if err != nil || strings.Contains(artifactRun.Summary, policyDone(rules.Name, resolved.App)) {
			continue
		}
		jobs = append(jobs, policyJob{rules: rules, app: resolved.App})
	}
	return jobs
}

func policyDone(env, app string) string { return "<!-- auger:policy-done=" + env + "/" + app + " -->" }

func (p *PullRequests) releaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, a *artifact.Artifact, j *policyJob) error {
	// No person asked: the rules judge the commit (its origin), not an actor.
	s := &shipment{repo: repo, rules: j.rules, art: a, app: j.app, actor: PolicyActor, pr: prNumber(a),
		trigger: "policy:" + a.ID + ":" + j.rules.Name + ":" + j.app, ask: Ask{Env: j.rules, Repo: repo, GitHub: gh}}
	if err := p.write(ctx, s); err != nil {
		return err
	}
	if len(s.done) > 0 {
		j.commit = s.done[0].Result.Commit
	}
	if err := p.finish(ctx, gh, s); err != nil {
		return err
	}
	if changed(s.done) && !s.recovering {
		zerolog.Ctx(ctx).Info().Str("env", j.rules.Name).Str("app", j.app).Str("commit", j.commit).Msg("released by policy")
	}
	return nil
}

// tellPolicies writes what the policy releases did into the artifact check run, the
// artifact itself (its output text) kept.
func (p *PullRequests) tellPolicies(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, artifactRun CheckRun, jobs []policyJob) error {
	summary := artifactRun.Summary
	if !strings.Contains(summary, policySection) {
		summary += "\n" + policySection + "\n\n"
	}
	for _, j := range jobs {
		key := "<!-- auger:policy=" + j.rules.Name + "/" + j.app + " -->"
		var line string
		var ue userError
		switch {
		case j.err == nil:
			line = fmt.Sprintf("- ✅ `%s` released to **%s** by its deploy policy: gitops %s", j.app, j.rules.Name, p.gitopsLink(j.rules, j.commit))
		case errors.As(j.err, &ue):
			line = fmt.Sprintf("- ⛔ `%s` not released to **%s**: %s", j.app, j.rules.Name, escapeMarkdown(j.err.Error()))
		default:
			line = fmt.Sprintf("- ❌ `%s` could not be released to **%s**: %s. Auger tries again on the next event for this commit, or on GitHub's redelivery.", j.app, j.rules.Name, escapeMarkdown(j.err.Error()))
		}
		if j.err == nil || errors.As(j.err, &ue) {
			line += " " + policyDone(j.rules.Name, j.app)
		}
		// One line per policy: what it did last replaces what it did before.
		lines := strings.Split(summary, "\n")
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, key) })
		summary = strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n" + key + line + "\n"
	}
	if summary == artifactRun.Summary {
		return nil
	}
	_, err := gh.UpdateCheckRun(ctx, repo, CheckRun{ID: artifactRun.ID, Name: artifactRun.Name, Title: artifactRun.Title,
		Summary: text.Truncate(summary, maxOutputText), Text: artifactRun.Text})
	if err != nil {
		return fmt.Errorf("tell the policy releases on %s: %w", CheckArtifact, err)
	}
	return nil
}

const policySection = "### Deploy policies"
