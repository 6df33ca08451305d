package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/notify"
)

func allRecorded(done []Released) bool {
	for _, r := range done {
		if !r.Result.Recorded {
			return false
		}
	}
	return len(done) > 0
}

// classify marks the errors of a release that the person who asked can act on.
func classify(err error) error {
	var locked *gitops.LockedError
	var invalid *artifact.ValidationError
	var refusal *Refusal
	var rendered *renderError
	switch {
	case errors.As(err, &locked), errors.As(err, &invalid), errors.As(err, &refusal), errors.As(err, &rendered),
		errors.Is(err, gitops.ErrNoRollbackTarget):
		return tell(err)
	}
	return err
}

// land opens (and, with auto merge, merges) the gitops pull request of each proposed
// release; a release that GitHub will not merge stays open for a person.
func (p *PullRequests) land(ctx context.Context, rules *EnvironmentRules, a *artifact.Artifact, done []Released, actor string) ([]landed, error) {
	out := make([]landed, len(done))
	for i, r := range done {
		out[i].Released = r
		if r.Proposal == "" || r.Result.Recorded {
			continue
		}
		if rules.GitopsGitHub == nil {
			return out, fmt.Errorf("environment %s takes pull requests, but its gitops repository is not on this GitHub", rules.Name)
		}
		gh, err := rules.GitopsGitHub(ctx)
		if err != nil {
			return out, err
		}
		pr, err := gh.CreatePullRequest(ctx, rules.GitopsRepo, NewPullRequest{
			Title: fmt.Sprintf("Release %s %s to %s", r.App, short(a.Version.SHA), rules.Name),
			Head:  r.Proposal,
			Base:  firstNonEmpty(rules.GitopsBranch, "main"),
			Body: fmt.Sprintf("Release of `%s` (%s `%s`) to **%s**, asked by %s.\n\nObjects: %d added, %d changed, %d removed. Written by Auger; merge it to release.",
				a.ID, escapeMarkdown(a.Version.RepositoryName), short(a.Version.SHA), rules.Name, escapeMarkdown(actor),
				len(r.Result.Diff.Added), len(r.Result.Diff.Changed), len(r.Result.Diff.Removed)),
		})
		if err != nil {
			return out, fmt.Errorf("open the gitops pull request of %s: %w", r.App, err)
		}
		out[i].pr = pr
		if !rules.AutoMerge {
			continue
		}
		merged, err := gh.MergePullRequest(ctx, rules.GitopsRepo, pr.Number, r.Result.Commit, pr.Title)
		switch {
		case errors.Is(err, ErrNotMergeable):
			out[i].unmergeable = true
		case err != nil:
			return out, fmt.Errorf("merge the gitops pull request #%d: %w", pr.Number, err)
		default:
			out[i].merged = merged
		}
	}
	return out, nil
}

// landed is a release and, in the pull-request mode, its gitops pull request.
type landed struct {
	Released
	pr          PullRequest
	merged      string
	unmergeable bool
}

// announce creates the deploy check run on the released commit and the Deployment.
// pr, when not 0, is the pull request asked on: the Deployment's payload keeps it, so
// the rollout can say "live" in the reply there.
func (p *PullRequests) announce(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, rules *EnvironmentRules, a *artifact.Artifact, done []Released, actor string, pr int) (CheckRun, error) {
	var apps, commits []string
	for _, r := range done {
		apps = append(apps, r.App)
		commits = append(commits, p.gitopsLink(rules, r.Result.Commit))
	}
	check, err := createCheckRunOnce(ctx, gh, repo, CheckRun{
		Name:       CheckDeployPrefix + rules.Name,
		HeadSHA:    a.Version.SHA,
		Status:     "in_progress",
		ExternalID: DeployCheckID(a.ID, apps),
		Title:      fmt.Sprintf("Released %s to %s; waiting for the rollout", strings.Join(apps, ", "), rules.Name),
		// The apps ride along, so the "Roll back" button knows what to restore.
		Summary: fmt.Sprintf("Released `%s` of %s to **%s** by %s: gitops %s.\n\nThis check completes when the rollout does.",
			a.ID, escapeMarkdown(strings.Join(apps, ", ")), rules.Name, escapeMarkdown(actor), strings.Join(commits, ", ")),
		Actions: []Action{{Label: "Roll back", Description: truncate("Restore the release before this one in "+rules.Name, maxActionDesc), Identifier: RollbackActionID}},
	})
	if err != nil {
		return CheckRun{}, fmt.Errorf("create the deploy check run: %w", err)
	}
	if err := p.deploymentOnly(ctx, gh, repo, rules, a, apps, actor, pr, check); err != nil {
		return check, err
	}
	p.tellPreviews(ctx, gh, repo, rules, a, done, pr)
	return check, nil
}

// announceOnce is announce for a release being recovered: what was created before the
// crash (the deploy check run, the Deployment) is found, not created again.
func (p *PullRequests) announceOnce(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, rules *EnvironmentRules, a *artifact.Artifact, done []Released, actor string, pr int, recovering bool) (CheckRun, error) {
	if !recovering {
		return p.announce(ctx, gh, repo, rules, a, done, actor, pr)
	}
	var apps []string
	for _, r := range done {
		apps = append(apps, r.App)
	}
	runs, err := gh.CheckRuns(ctx, repo, a.Version.SHA)
	if err != nil {
		return CheckRun{}, err
	}
	var check *CheckRun
	for i, cr := range runs {
		if p.Recorder.own(cr) && cr.Name == CheckDeployPrefix+rules.Name && cr.ExternalID == DeployCheckID(a.ID, apps) {
			check = &runs[i]
		}
	}
	deps, err := gh.Deployments(ctx, repo, a.Version.SHA, rules.Name)
	if err != nil {
		return CheckRun{}, err
	}
	deployed := false
	for _, d := range deps {
		deployed = deployed || deploymentOf(d, a.ID, apps)
	}
	switch {
	case check == nil:
		return p.announce(ctx, gh, repo, rules, a, done, actor, pr)
	case !deployed:
		return *check, p.deploymentOnly(ctx, gh, repo, rules, a, apps, actor, pr, *check)
	}
	return *check, nil
}

// deploymentOnly creates the Deployment of a release (its check run exists), in
// progress. When GitHub may have created it despite an error, it is looked for (by its
// payload's artifact) before being created again.
func (p *PullRequests) deploymentOnly(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, rules *EnvironmentRules, a *artifact.Artifact, apps []string, actor string, pr int, check CheckRun) error {
	want := Deployment{
		Ref: a.Version.SHA, Environment: rules.Name, ProductionEnvironment: rules.Production,
		Description: truncate(fmt.Sprintf("%s %s by %s", strings.Join(apps, ", "), short(a.Version.SHA), actor), maxStatusDesc),
		Payload:     map[string]any{"artifact": a.ID, "apps": apps, "pr": pr},
	}
	dep, err := gh.CreateDeployment(ctx, repo, want)
	if errors.Is(err, ErrMaybeDone) {
		settle(ctx)
		deps, lerr := gh.Deployments(ctx, repo, a.Version.SHA, rules.Name)
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		err = nil
		found := false
		for _, d := range deps {
			if deploymentOf(d, a.ID, apps) {
				dep, found = d, true
				break
			}
		}
		if !found {
			dep, err = gh.CreateDeployment(ctx, repo, want)
		}
	}
	if err != nil {
		return fmt.Errorf("create the deployment: %w", err)
	}
	if err := gh.CreateDeploymentStatus(ctx, repo, dep.ID, DeploymentStatus{
		State: "in_progress", Description: "Released; waiting for the rollout", EnvironmentURL: rules.URL, LogURL: check.HTMLURL}); err != nil {
		return fmt.Errorf("set the deployment in progress: %w", err)
	}
	return nil
}

// deploymentOf tells whether a Deployment is the one of a release: the same artifact and
// the same apps (one artifact may be released app by app, each with its Deployment).
func deploymentOf(d Deployment, artifactID string, apps []string) bool {
	if d.Payload["artifact"] != artifactID {
		return false
	}
	got, _ := d.Payload["apps"].([]any)
	if len(got) != len(apps) {
		return false
	}
	for i, app := range apps {
		if got[i] != app {
			return false
		}
	}
	return true
}

// createCheckRunOnce creates a check run; when GitHub may have created it despite an
// error, it looks for it (by name and external id) before creating again.
func createCheckRunOnce(ctx context.Context, gh GitHub, repo RepoRef, cr CheckRun) (CheckRun, error) {
	created, err := gh.CreateCheckRun(ctx, repo, cr)
	if !errors.Is(err, ErrMaybeDone) {
		return created, err
	}
	settle(ctx)
	runs, lerr := gh.CheckRuns(ctx, repo, cr.HeadSHA)
	if lerr != nil {
		return CheckRun{}, errors.Join(err, lerr)
	}
	for _, r := range runs {
		if r.Name == cr.Name && r.ExternalID == cr.ExternalID && cr.ExternalID != "" {
			return r, nil
		}
	}
	return gh.CreateCheckRun(ctx, repo, cr)
}

// settle waits a moment after an ambiguous failure: a request that timed out may still be
// on its way through GitHub, and looking for its result at once would miss it.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

// started tells the environment's channels that releases landed.
func (p *PullRequests) started(repo RepoRef, rules *EnvironmentRules, a *artifact.Artifact, done []Released, actor string, pr int, check CheckRun) {
	for _, r := range done {
		if !r.Result.Changed {
			continue
		}
		p.tell(notify.Event{Kind: notify.ReleaseStarted, Env: rules.Name, App: r.App, Repository: repo.FullName(), SHA: a.Version.SHA,
			Artifact: a.ID, Actor: actor, CommitURL: p.WebURL + repo.FullName() + "/commit/" + a.Version.SHA, CheckRunURL: check.HTMLURL,
			GitopsCommitURL: gitopsURL(rules, r.Result.Commit), PullRequestURL: prURL(p.WebURL, repo, pr), EnvironmentURL: PreviewURL(rules, r.App)})
	}
}

func gitopsURL(rules *EnvironmentRules, sha string) string {
	if rules.GitopsCommitURL == nil {
		return ""
	}
	return rules.GitopsCommitURL(sha)
}

func prURL(web string, repo RepoRef, pr int) string {
	if pr == 0 {
		return ""
	}
	return fmt.Sprintf("%s%s/pull/%d", web, repo.FullName(), pr)
}

// DeployCheckID is the external id of a deploy check run: the artifact and the apps
// released, "<artifact id>#<app>,<app>".
func DeployCheckID(artifactID string, apps []string) string {
	return artifactID + "#" + strings.Join(apps, ",")
}

// ParseDeployCheckID splits a deploy check run's external id.
func ParseDeployCheckID(id string) (artifactID string, apps []string) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return id, nil
	}
	if rest := id[i+1:]; rest != "" {
		apps = strings.Split(rest, ",")
	}
	return id[:i], apps
}
