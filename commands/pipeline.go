package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
	"github.com/auger-dev/auger/notify"
	"github.com/rs/zerolog"
)

// The release pipeline: every release, whoever asked for it, is a shipment that goes
// through the same steps,
//
//	resolve → authorize → write → land → announce → tell
//
// resolve is the entry point's (which artifact, which environment, which apps);
// authorize and write are the Releaser's (one Authorizer, the gitops compare-and-swap);
// land opens and merges the gitops pull request of a proposed release; announce creates
// the deploy check run and the GitHub Deployment; tell updates the preview comment and
// the environment's channels (the entry point adds its own answer: a reply, the artifact
// check run). Each step is keyed on the trigger, so a redelivery or a restart finishes
// what a crash cut short and repeats nothing.

// shipment is one release on its way through the pipeline.
type shipment struct {
	repo  RepoRef
	rules *EnvironmentRules
	art   *artifact.Artifact
	// app is the one app asked for, or "" for every app the artifact has there.
	app string
	// actor is who asked (PolicyActor for a policy), trigger the idempotency key.
	actor, trigger string
	// pr is the pull request the release is told on, 0 for none.
	pr  int
	ask Ask

	// What the steps did.
	done []Released
	// recovering is true when the write had been done before (a redelivery): announce
	// then looks for what it made before instead of making it again.
	recovering bool
	landed     []landed
	check      CheckRun
}

// apps are the apps the write released.
func (s *shipment) apps() []string {
	apps := make([]string, 0, len(s.done))
	for _, r := range s.done {
		apps = append(apps, r.App)
	}
	return apps
}

// proposed tells whether the release waits for a person to merge its gitops pull
// request: nothing runs yet, and nothing may be told as released.
func (s *shipment) proposed() bool {
	for _, l := range s.landed {
		if l.pr.Number != 0 && l.merged == "" {
			return true
		}
	}
	return false
}

// write authorizes and writes a shipment (the Releaser's steps). The write is
// serialised per environment and app within this process, and by the gitops
// compare-and-swap across processes.
func (p *PullRequests) write(ctx context.Context, s *shipment) error {
	env, err := p.open(ctx, s.rules)
	if err != nil {
		return err
	}
	unlock := p.locks.lock(s.rules.Name + "/" + s.app)
	defer unlock()
	s.done, err = p.Releaser.Release(ctx, env, DeployRequest{Artifact: s.art, Env: s.rules.Name, App: s.app,
		Actor: gitops.Actor{TriggeredBy: s.actor, Trigger: s.trigger}, Ask: s.ask})
	if err != nil {
		return classify(err)
	}
	if s.recovering = allRecorded(s.done); s.recovering {
		// The release landed before: tell it as the release it was.
		for i := range s.done {
			s.done[i].Result.Changed = true
		}
	}
	return nil
}

// finish lands, announces and tells a written shipment.
func (p *PullRequests) finish(ctx context.Context, gh PullRequestsGitHub, s *shipment) error {
	var err error
	if s.landed, err = p.land(ctx, s); err != nil {
		return err
	}
	if !changed(s.done) {
		return nil // already released by someone else: nothing to announce
	}
	if s.check, err = p.announce(ctx, gh, s); err != nil {
		return err
	}
	p.tellPreviews(ctx, gh, s.repo, s.rules, s.art, s.done, s.pr)
	if !s.proposed() {
		p.started(s)
		p.watch(gh, s)
	}
	return nil
}

// watch ends a release's deploy check run as neutral when the environment's agent has
// not reported on it within the environment's AgentTimeout. The timer lives in this
// process: a restart forgets it, and the check run then waits for the agent's next
// report.
func (p *PullRequests) watch(gh PullRequestsGitHub, s *shipment) {
	if !s.rules.LiveStatus || s.rules.AgentTimeout <= 0 || s.check.ID == 0 || s.check.Status == "completed" {
		return
	}
	repo, check, rules := s.repo, s.check, s.rules
	time.AfterFunc(rules.AgentTimeout, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := concludeSilent(ctx, gh, repo, check, rules); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Int64("check_run", check.ID).Msg("could not end a release the agent did not report on")
		}
	})
}

// concludeSilent ends a deploy check run still in progress as neutral: its agent said
// nothing in time.
func concludeSilent(ctx context.Context, gh GitHub, repo RepoRef, check CheckRun, rules *EnvironmentRules) error {
	runs, err := gh.CheckRuns(ctx, repo, check.HeadSHA)
	if err != nil {
		return err
	}
	for _, cr := range runs {
		if cr.ID != check.ID || cr.Status == "completed" {
			continue
		}
		_, err := gh.UpdateCheckRun(ctx, repo, CheckRun{ID: cr.ID, Name: cr.Name, Status: "completed", Conclusion: "neutral",
			Title: "No rollout report from " + rules.Name,
			Summary: cr.Summary + fmt.Sprintf("\n\nThe Auger agent of **%s** reported nothing on this release within %s: Flux may not have applied it yet, or the agent is not running. "+
				"A later report still updates this check.", rules.Name, rules.AgentTimeout)})
		return err
	}
	return nil
}

func changed(done []Released) bool {
	for _, r := range done {
		if r.Result.Changed {
			return true
		}
	}
	return false
}

// announce creates the deploy check run on the released commit and, where an agent
// reports, its Deployment; for a shipment being recovered it finds what was created
// before the crash and creates only what is missing. Without an agent in the environment
// the release is concluded at once (nothing will report on it) and gets no Deployment
// (docs/github-app.md); a proposed release is told as proposed.
func (p *PullRequests) announce(ctx context.Context, gh PullRequestsGitHub, s *shipment) (CheckRun, error) {
	apps, rules := s.apps(), s.rules
	want := p.deployCheck(s)
	var check *CheckRun
	deployed := false
	if s.recovering {
		runs, err := gh.CheckRuns(ctx, s.repo, s.art.Version.SHA)
		if err != nil {
			return CheckRun{}, err
		}
		for i, cr := range runs {
			if p.Recorder.own(cr) && cr.Name == want.Name && cr.ExternalID == want.ExternalID {
				check = &runs[i]
			}
		}
		if rules.LiveStatus {
			deps, err := gh.Deployments(ctx, s.repo, s.art.Version.SHA, rules.Name)
			if err != nil {
				return CheckRun{}, err
			}
			for _, d := range deps {
				deployed = deployed || deploymentOf(d, s.art.ID, apps)
			}
		}
	}
	if check == nil {
		created, err := createCheckRunOnce(ctx, gh, s.repo, want)
		if err != nil {
			return CheckRun{}, fmt.Errorf("create the deploy check run: %w", err)
		}
		check = &created
	}
	if deployed || s.proposed() {
		return *check, nil
	}
	return *check, p.deployment(ctx, gh, s)
}

// deployCheck is the deploy check run a shipment gets.
func (p *PullRequests) deployCheck(s *shipment) CheckRun {
	apps, rules := s.apps(), s.rules
	var commits []string
	for _, r := range s.done {
		commits = append(commits, p.gitopsLink(rules, r.Result.Commit))
	}
	names := strings.Join(apps, ", ")
	cr := CheckRun{
		Name:       CheckDeployPrefix + rules.Name,
		HeadSHA:    s.art.Version.SHA,
		Status:     "in_progress",
		ExternalID: DeployCheckID(s.art.ID, apps),
		Title:      fmt.Sprintf("Released %s to %s; waiting for the rollout", names, rules.Name),
		// The apps ride along in the external id, so "Roll back" knows what to restore.
		Summary: fmt.Sprintf("Released `%s` of %s to **%s** by %s: gitops %s.\n\nThis check completes when the rollout does.",
			s.art.ID, escapeMarkdown(names), rules.Name, escapeMarkdown(s.actor), strings.Join(commits, ", ")),
		Actions: []Action{{Label: "Roll back", Description: text.Truncate("Restore the release before this one in "+rules.Name, maxActionDesc), Identifier: RollbackActionID}},
	}
	switch {
	case s.proposed():
		var links []string
		for _, l := range s.landed {
			if l.pr.Number != 0 {
				links = append(links, fmt.Sprintf("[#%d](%s)", l.pr.Number, l.pr.HTMLURL))
			}
		}
		cr.Status, cr.Actions = "queued", nil
		cr.Title = fmt.Sprintf("Proposed %s for %s; released when its gitops pull request is merged", names, rules.Name)
		cr.Summary = fmt.Sprintf("Proposed `%s` of %s for **%s** by %s in gitops pull request %s. Nothing runs until someone merges it; closing it unmerged cancels the release.",
			s.art.ID, escapeMarkdown(names), rules.Name, escapeMarkdown(s.actor), strings.Join(links, ", "))
	case !rules.LiveStatus:
		// No Deployment here (deployment): the check's Details link is where the release
		// is reachable, as a Deployment's environment_url would be.
		cr.Status, cr.Conclusion, cr.DetailsURL = "completed", "success", EnvironmentURL(rules, apps)
		cr.Title = fmt.Sprintf("Released %s to %s", names, rules.Name)
		cr.Summary = fmt.Sprintf("Released `%s` of %s to **%s** by %s: gitops %s.\n\nNo live status is reported for %s: it has no Auger agent, so this check ends when the gitops commit lands.",
			s.art.ID, escapeMarkdown(names), rules.Name, escapeMarkdown(s.actor), strings.Join(commits, ", "), rules.Name)
	}
	return cr
}

// EnvironmentURL is where an environment's release of apps is reachable: the
// environment's url, with {{ .APP }} filled when one app is released ("" when the url
// needs an app and several were released).
func EnvironmentURL(rules *EnvironmentRules, apps []string) string {
	if len(apps) == 1 {
		return PreviewURL(rules, apps[0])
	}
	if u := PreviewURL(rules, ""); u != rules.URL {
		return ""
	}
	return rules.URL
}

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
func (p *PullRequests) land(ctx context.Context, s *shipment) ([]landed, error) {
	rules, a, done, actor := s.rules, s.art, s.done, s.actor
	// The proposal rides in the body, so whoever hears the pull request close can tell it.
	proposal := Proposal{Repo: s.repo, SHA: a.Version.SHA, Artifact: a.ID, Env: rules.Name, Apps: s.apps(), Actor: actor, PR: s.pr}
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
			Title: fmt.Sprintf("Release %s %s to %s", r.App, text.Short(a.Version.SHA), rules.Name),
			Head:  r.Proposal,
			Base:  firstNonEmpty(rules.GitopsBranch, "main"),
			Body: fmt.Sprintf("Release of `%s` (%s `%s`) to **%s**, asked by %s.\n\nObjects: %d added, %d changed, %d removed. Written by Auger; merge it to release.\n\n%s",
				a.ID, escapeMarkdown(a.Version.RepositoryName), text.Short(a.Version.SHA), rules.Name, escapeMarkdown(actor),
				len(r.Result.Diff.Added), len(r.Result.Diff.Changed), len(r.Result.Diff.Removed), proposal.marker()),
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

// deployment creates the Deployment of a release (its check run exists) in an
// environment whose agent reports on rollouts: the agent's reports give it its statuses.
// An environment without an agent gets none: a Deployment there could only repeat the
// deploy check run, at two creating requests (the Deployment and a "success" status that
// nothing has seen). When GitHub may have created it despite an error, it is looked for
// (by its payload's artifact and apps) before being created again.
func (p *PullRequests) deployment(ctx context.Context, gh PullRequestsGitHub, s *shipment) error {
	apps, rules, a := s.apps(), s.rules, s.art
	if !rules.LiveStatus {
		return nil
	}
	want := Deployment{
		Ref: a.Version.SHA, Environment: rules.Name, ProductionEnvironment: rules.Production,
		Description: text.Truncate(fmt.Sprintf("%s %s by %s", strings.Join(apps, ", "), text.Short(a.Version.SHA), s.actor), maxStatusDesc),
		Payload:     map[string]any{"artifact": a.ID, "apps": apps, "pr": s.pr},
	}
	dep, err := gh.CreateDeployment(ctx, s.repo, want)
	if errors.Is(err, ErrMaybeDone) {
		settle(ctx)
		deps, lerr := gh.Deployments(ctx, s.repo, a.Version.SHA, rules.Name)
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
			dep, err = gh.CreateDeployment(ctx, s.repo, want)
		}
	}
	if err != nil {
		return fmt.Errorf("create the deployment: %w", err)
	}
	// The agent's report sets the Deployment's status (success or failure); until then
	// the deploy check run, in progress, is where the rollout shows.
	zerolog.Ctx(ctx).Debug().Int64("deployment", dep.ID).Str("env", rules.Name).Msg("created the deployment")
	return nil
}

// started tells the environment's channels that the releases of a shipment landed.
func (p *PullRequests) started(s *shipment) {
	a := s.art
	for _, r := range s.done {
		if !r.Result.Changed {
			continue
		}
		p.tell(notify.Event{Kind: notify.ReleaseStarted, Env: s.rules.Name, App: r.App, Repository: s.repo.FullName(), SHA: a.Version.SHA,
			Artifact: a.ID, Actor: s.actor, CommitURL: p.WebURL + s.repo.FullName() + "/commit/" + a.Version.SHA, CheckRunURL: s.check.HTMLURL,
			GitopsCommitURL: gitopsURL(s.rules, r.Result.Commit), PullRequestURL: prURL(p.WebURL, s.repo, s.pr), EnvironmentURL: PreviewURL(s.rules, r.App)})
	}
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
