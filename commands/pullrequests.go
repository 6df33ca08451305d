package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/notify"
)

// Names and identifiers of what the release commands create on GitHub.
const (
	CheckDeployPrefix = "Auger: deploy "
	RollbackActionID  = "rollback"
	// PolicyActor is the Auger-Triggered-By of releases made by deploy policies.
	PolicyActor = "policy"
)

// PullRequests runs the commands people give on pull requests (comments and Checks-UI
// buttons) and the releases deploy policies make, through the same Releaser the CLI
// uses. It authorizes before anything is written and tells the outcome where the
// request came from: a reaction and one reply comment, a check run and a Deployment.
type PullRequests struct {
	Releaser     *Releaser
	Recorder     *Recorder
	Environments []EnvironmentRules
	// WebURL is GitHub's web base, for links.
	WebURL string
	// Notifier, when set, tells the environments' channels about releases.
	Notifier Notifier

	locks keyedLocks
}

// Trigger says who asked, through what, and where to answer.
type Trigger struct {
	Repo RepoRef
	// PR is the pull request asked on; 0 for a button on a commit outside any.
	PR int
	// SHA is the commit a button was clicked on; comments use the pull request's head.
	SHA string
	// Branch is the branch the event names for SHA (a check run's head branch): only a
	// candidate when the commit's origin is established, never a proof.
	Branch string
	// CheckRunID is the check run whose button was clicked: a refusal is told there when
	// no pull request is known.
	CheckRunID int64
	Actor      string
	// ID is the idempotency key recorded as Auger-Trigger: "comment:<id>",
	// "check-run:<id>:<action>:<delivery>" or "policy:...".
	ID string
	// CommentID is the comment to react to (0 for buttons); CommentCreated its time.
	CommentID      int64
	CommentCreated time.Time
}

// userError is a mistake or refusal the person who asked can act on; Auger's own
// failures are returned to the caller too, for the logs.
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }
func (e userError) Unwrap() error { return e.err }

func tell(err error) error { return userError{err} }

// Refusal is a request Auger turned down: the rule that refused it and what would
// satisfy it.
type Refusal struct {
	Rule   string
	Reason string
	Remedy string
	// PullRequest is the pull request the refused commit belongs to, when a request
	// that named none (a button on a fork's head) found one: the answer goes there.
	PullRequest int
}

func (r *Refusal) Error() string {
	msg := r.Rule + ": " + r.Reason
	if r.Remedy != "" {
		msg += ". " + r.Remedy
	}
	return msg
}

// Run executes one command and answers it on the pull request; parseErr, when the
// comment held a command Auger could not parse, is answered instead. Mistakes and
// refusals are answered there and return nil; Auger's own failures are answered and
// returned.
func (p *PullRequests) Run(ctx context.Context, gh PullRequestsGitHub, t Trigger, cmd Command, parseErr error) error {
	log := zerolog.Ctx(ctx)
	if t.CommentID != 0 {
		if err := gh.React(ctx, t.Repo, t.CommentID, "eyes"); err != nil {
			log.Warn().Err(err).Msg("could not acknowledge the comment")
		}
	}
	var (
		reply string
		err   error
	)
	switch c := cmd.(type) {
	case nil:
		err = tell(parseErr)
	case Deploy:
		reply, err = p.deploy(ctx, gh, t, c.Env, c.App)
	case Rollback:
		reply, err = p.rollback(ctx, gh, t, c)
	case Lock:
		reply, err = p.lock(ctx, gh, t, c)
	case Unlock:
		reply, err = p.unlock(ctx, gh, t, c)
	case Status:
		reply, err = p.status(ctx, gh, t, c)
	case Help:
		reply = HelpText
	default:
		err = tell(fmt.Errorf("unknown command %v; try /help", cmd))
	}
	if errors.Is(err, errAlreadyDone) {
		log.Info().Str("trigger", t.ID).Msg("already done for this trigger; nothing more to say")
		return nil
	}
	reaction := "rocket"
	if err != nil {
		reaction = "confused"
		reply = failureReply(cmd, err)
	}
	var refusal *Refusal
	if t.PR == 0 && errors.As(err, &refusal) && refusal.PullRequest != 0 {
		// A button on a commit whose pull request the event did not name (a fork's head):
		// the refusal goes to the pull request the rules found.
		t.PR = refusal.PullRequest
	}
	switch {
	case t.PR != 0 && reply != "":
		if cerr := p.replyOnce(ctx, gh, t, cutComment(reply+"\n"+marker(t.ID))); cerr != nil {
			err = errors.Join(err, cerr)
		}
	case t.CheckRunID != 0 && err != nil:
		if cerr := p.tellOnCheckRun(ctx, gh, t, cmd, err); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if t.CommentID != 0 {
		if rerr := gh.React(ctx, t.Repo, t.CommentID, reaction); rerr != nil {
			log.Warn().Err(rerr).Msg("could not react to the comment")
		}
	}
	var ue userError
	if errors.As(err, &ue) {
		log.Warn().Err(err).Str("command", fmt.Sprint(cmd)).Msg("command refused")
		return nil
	}
	return err
}

// tellOnCheckRun answers a button clicked outside any pull request on the check run
// that carries it: a line at the top of its summary, the rest of its output kept.
func (p *PullRequests) tellOnCheckRun(ctx context.Context, gh PullRequestsGitHub, t Trigger, cmd Command, err error) error {
	runs, lerr := gh.CheckRuns(ctx, t.Repo, t.SHA)
	if lerr != nil {
		return lerr
	}
	for _, cr := range runs {
		if cr.ID != t.CheckRunID {
			continue
		}
		line := fmt.Sprintf("> 😕 **%s**, clicked by @%s, was not done: %s\n", cmd, t.Actor, escapeMarkdown(err.Error()))
		if strings.Contains(cr.Summary, line) {
			return nil // a redelivered click
		}
		upd := CheckRun{ID: cr.ID, Name: cr.Name, Title: cr.Title, Summary: truncate(line+"\n"+cr.Summary, maxOutputText), Text: cr.Text}
		_, uerr := gh.UpdateCheckRun(ctx, t.Repo, upd)
		return uerr
	}
	return fmt.Errorf("check run %d is not on %s", t.CheckRunID, short(t.SHA))
}

// replyOnce posts the reply to a trigger; when GitHub may have posted it despite an
// error, it looks for the reply (by its trigger marker) before posting again.
func (p *PullRequests) replyOnce(ctx context.Context, gh PullRequestsGitHub, t Trigger, body string) error {
	_, err := gh.CreateComment(ctx, t.Repo, t.PR, body)
	if !errors.Is(err, ErrMaybeDone) {
		return err
	}
	settle(ctx)
	comments, lerr := gh.Comments(ctx, t.Repo, t.PR)
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	for _, c := range comments {
		if strings.Contains(c.Body, marker(t.ID)) {
			return nil
		}
	}
	_, err = gh.CreateComment(ctx, t.Repo, t.PR, body)
	return err
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

// replied tells whether the reply to a trigger is on the pull request already.
func (p *PullRequests) replied(ctx context.Context, gh PullRequestsGitHub, t Trigger) (bool, error) {
	if t.PR == 0 {
		return false, nil
	}
	comments, err := gh.Comments(ctx, t.Repo, t.PR)
	if err != nil {
		return false, err
	}
	for _, c := range comments {
		if strings.Contains(c.Body, marker(t.ID)) {
			return true, nil
		}
	}
	return false, nil
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

// settle waits a moment after an ambiguous failure: a request that timed out may still be
// on its way through GitHub, and looking for its result at once would miss it.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

// errAlreadyDone stops a redelivered request, whose answer was already given.
var errAlreadyDone = errors.New("already done")

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

func (p *PullRequests) environment(name string) (*EnvironmentRules, error) {
	for i := range p.Environments {
		if p.Environments[i].Name == name {
			return &p.Environments[i], nil
		}
	}
	names := make([]string, 0, len(p.Environments))
	for _, e := range p.Environments {
		names = append(names, e.Name)
	}
	return nil, tell(&Refusal{Rule: "environment", Reason: fmt.Sprintf("this Auger has no environment %q", name),
		Remedy: "Environments here: " + joinOr(names, "none") + "; the operator defines them"})
}

// head finds the commit a request is about: a button's commit, or the pull request's
// head, whose pull request it also returns (nil for a button outside a pull request).
func (p *PullRequests) head(ctx context.Context, gh PullRequestsGitHub, t Trigger) (string, *PullRequest, error) {
	if t.PR == 0 {
		return t.SHA, nil, nil
	}
	pr, err := gh.PullRequest(ctx, t.Repo, t.PR)
	if err != nil {
		return "", nil, err
	}
	if t.SHA != "" {
		return t.SHA, &pr, nil
	}
	return pr.HeadSHA, &pr, nil
}

// loadArtifact reads the artifact recorded on sha, or explains why there is none.
func (p *PullRequests) loadArtifact(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, sha string) (*artifact.Artifact, CheckRun, []CheckRun, error) {
	runs, err := gh.CheckRuns(ctx, repo, sha)
	if err != nil {
		return nil, CheckRun{}, nil, err
	}
	for _, cr := range runs {
		if !p.Recorder.own(cr) || cr.Name != CheckArtifact {
			continue
		}
		if cr.Conclusion != "success" {
			return nil, cr, runs, tell(&Refusal{Rule: "artifact", Reason: fmt.Sprintf("the env configs of %s are invalid", short(sha)),
				Remedy: "See the " + CheckArtifact + " check (" + cr.HTMLURL + "), fix them and push"})
		}
		a, err := ArtifactFromCheckRun(cr)
		if err != nil {
			return nil, cr, runs, fmt.Errorf("read the artifact recorded on %s: %w", short(sha), err)
		}
		return a, cr, runs, nil
	}
	_, outcome, reason := p.Recorder.ciState(runs)
	switch outcome {
	case OutcomeWaitingForCI:
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact for " + short(sha) + " yet: " + reason, Remedy: "Comment again when CI has passed"})
	case OutcomeCIFailed:
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact for " + short(sha) + ": " + reason, Remedy: "Fix CI and push"})
	}
	if _, err := gh.ReadDir(ctx, repo, sha, EnvConfigDir); errors.Is(err, ErrNotFound) {
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "the repository has no " + EnvConfigDir + "/ folder at " + short(sha),
			Remedy: "Add env configs in " + EnvConfigDir + "/ (see Auger's README)"})
	}
	return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact recorded for " + short(sha) + " yet", Remedy: "Comment again in a minute"})
}

// deploy releases the artifact of the pull request's head (or the clicked commit) to env.
func (p *PullRequests) deploy(ctx context.Context, gh PullRequestsGitHub, t Trigger, envName, app string) (string, error) {
	rules, err := p.environment(envName)
	if err != nil {
		return "", err
	}
	sha, pr, err := p.head(ctx, gh, t)
	if err != nil {
		return "", err
	}
	a, artifactRun, runs, err := p.loadArtifact(ctx, gh, t.Repo, sha)
	if err != nil {
		return "", err
	}
	if !t.CommentCreated.IsZero() && artifactRun.CompletedAt.After(t.CommentCreated) {
		return "", tell(&Refusal{Rule: "pull request head", Reason: fmt.Sprintf("the head of #%d is now %s, whose artifact was recorded after your comment", t.PR, short(sha)),
			Remedy: "A comment only deploys what it saw; comment again to deploy " + short(sha)})
	}
	env, err := p.open(ctx, rules)
	if err != nil {
		return "", err
	}
	unlock := p.locks.lock(envName + "/" + app)
	defer unlock()
	ask := p.ask(gh, t, rules)
	ask.PR, ask.Runs, ask.Commit.PR = pr, runs, pr
	done, err := p.Releaser.Release(ctx, env, DeployRequest{Artifact: a, Env: envName, App: app, Actor: gitops.Actor{TriggeredBy: t.Actor, Trigger: t.ID}, Ask: ask})
	if err != nil {
		return "", classify(err)
	}
	recovering := allRecorded(done)
	if recovering {
		// A redelivery: the release landed before. Finish what a crash may have cut
		// short (the check run, the Deployment, the reply), and only that.
		replied, err := p.replied(ctx, gh, t)
		if err != nil {
			return "", err
		}
		if replied || t.PR == 0 {
			return "", errAlreadyDone
		}
		for i := range done {
			done[i].Result.Changed = true
		}
	}
	lands, err := p.land(ctx, rules, a, done, t.Actor)
	if err != nil {
		return "", err
	}
	check, err := p.announceOnce(ctx, gh, t.Repo, rules, a, done, t.Actor, t.PR, recovering)
	if err != nil {
		return "", err
	}
	p.started(t.Repo, rules, a, done, t.Actor, t.PR, check)
	return p.releasedReply(rules, a, lands, check), nil
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

func (p *PullRequests) open(ctx context.Context, rules *EnvironmentRules) (Environment, error) {
	if rules.Gitops == nil {
		return Environment{}, fmt.Errorf("environment %s has no gitops repository configured", rules.Name)
	}
	repo, err := rules.Gitops(ctx)
	if err != nil {
		return Environment{}, fmt.Errorf("open the gitops repository of %s: %w", rules.Name, err)
	}
	return Environment{Name: rules.Name, Path: rules.Path, Repo: repo, Propose: rules.PullRequests}, nil
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

func (p *PullRequests) gitopsLink(rules *EnvironmentRules, sha string) string {
	if rules.GitopsCommitURL != nil {
		if u := rules.GitopsCommitURL(sha); u != "" {
			return fmt.Sprintf("[`%s`](%s)", short(sha), u)
		}
	}
	return "`" + short(sha) + "`"
}

func (p *PullRequests) releasedReply(rules *EnvironmentRules, a *artifact.Artifact, done []landed, check CheckRun) string {
	var b strings.Builder
	for _, r := range done {
		if r.pr.Number != 0 {
			link := fmt.Sprintf("[#%d](%s)", r.pr.Number, r.pr.HTMLURL)
			switch {
			case r.merged != "":
				fmt.Fprintf(&b, "🚀 **Released** `%s` `%s` to **%s**: gitops pull request %s, merged as %s.\n\n", r.App, short(a.Version.SHA), r.Env, link, p.gitopsLink(rules, r.merged))
			case r.unmergeable:
				fmt.Fprintf(&b, "⏸️ **Proposed** `%s` `%s` for **%s** in gitops pull request %s; GitHub will not merge it yet (conflicts or branch protection). It releases when someone merges it.\n\n", r.App, short(a.Version.SHA), r.Env, link)
			default:
				fmt.Fprintf(&b, "⏸️ **Proposed** `%s` `%s` for **%s** in gitops pull request %s; it releases when someone merges it.\n\n", r.App, short(a.Version.SHA), r.Env, link)
			}
			continue
		}
		if !r.Result.Changed {
			fmt.Fprintf(&b, "✅ `%s` `%s` is already released to **%s** (gitops %s); nothing changed.\n\n", r.App, short(a.Version.SHA), r.Env, p.gitopsLink(rules, r.Result.Commit))
			continue
		}
		d := r.Result.Diff
		fmt.Fprintf(&b, "🚀 **Released** `%s` `%s` to **%s**: gitops commit %s.\n\n", r.App, short(a.Version.SHA), r.Env, p.gitopsLink(rules, r.Result.Commit))
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

// ask is what a trigger asks of an environment, before the use case adds what it knows.
func (p *PullRequests) ask(gh PullRequestsGitHub, t Trigger, rules *EnvironmentRules) Ask {
	ask := Ask{Env: rules, Actor: t.Actor, Repo: t.Repo, GitHub: gh}
	if t.Branch != "" {
		ask.Commit.Refs = []string{t.Branch}
	}
	return ask
}

// openEnvironment finds an environment's rules and opens its gitops repository.
func (p *PullRequests) openEnvironment(ctx context.Context, name string) (*EnvironmentRules, Environment, error) {
	rules, err := p.environment(name)
	if err != nil {
		return nil, Environment{}, err
	}
	env, err := p.open(ctx, rules)
	return rules, env, err
}

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
		from = fmt.Sprintf("release %d (`%s`)", log[0].Number, short(firstNonEmpty(log[0].Sha, log[0].Commit)))
	}
	if !rb.Result.Changed {
		return fmt.Sprintf("✅ `%s` in **%s** already runs release %d (`%s`); nothing changed.\n", app, rules.Name, rb.To.Number, short(rb.To.Sha)), nil
	}
	if strings.EqualFold(rb.To.Repository, t.Repo.FullName()) && rb.To.Sha != "" {
		a := &artifact.Artifact{ID: rb.To.Artifact, Version: artifact.Version{RepositoryName: rb.To.Repository, SHA: rb.To.Sha}}
		if _, err := p.announce(ctx, gh, t.Repo, rules, a, []Released{{App: app, Env: rules.Name, Result: rb.Result}}, t.Actor, t.PR); err != nil {
			return "", err
		}
	}
	p.tell(notify.Event{Kind: notify.RolledBack, Env: rules.Name, App: app, Repository: rb.To.Repository, SHA: rb.To.Sha, Actor: t.Actor,
		Reason: fmt.Sprintf("release %d (%s)", rb.To.Number, short(rb.To.Sha)), GitopsCommitURL: gitopsURL(rules, rb.Result.Commit), PullRequestURL: prURL(p.WebURL, t.Repo, t.PR)})
	return fmt.Sprintf("⏪ **Rolled back** `%s` in **%s** from %s to release %d (`%s`): gitops commit %s.\n\nRedeploy with `/deploy %s %s`.\n",
		app, rules.Name, from, rb.To.Number, short(rb.To.Sha), p.gitopsLink(rules, rb.Result.Commit), rules.Name, app), nil
}

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
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s | %s | %s |\n", rules.Name, st.App, release, short(e.Sha), escapeMarkdown(e.TriggeredBy),
				e.Time.Format("2006-01-02 15:04 MST"), lockedCell(locks, rules.Name, st.App))
		}
	}
	b.WriteString("\nRoll back with `/rollback <env> <app> [to <release>]`, using the release numbers above.\n")
	return b.String(), nil
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func prefixed(app string) string {
	if app == "" {
		return ""
	}
	return " " + app
}

// ReleaseByPolicy releases an artifact to every environment whose env config's deploy
// policy matches it, concurrently, and announces each release on its commit. Locked
// environments and policies the environment forbids are skipped (the artifact check
// run already says why).
func (p *PullRequests) ReleaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, a *artifact.Artifact) error {
	log := zerolog.Ctx(ctx)
	type job struct {
		rules *EnvironmentRules
		app   string
	}
	var jobs []job
	for _, ec := range a.Environments {
		resolved, err := a.Resolve(ec)
		if err != nil {
			continue
		}
		if !p.Recorder.PolicyVerdict(resolved, a.Version).Release {
			continue
		}
		rules, err := p.environment(resolved.Env)
		if err != nil {
			continue
		}
		jobs = append(jobs, job{rules: rules, app: resolved.App})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.releaseByPolicy(ctx, gh, repo, a, j.rules, j.app)
		}()
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		var ue userError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			log.Info().Err(err).Str("env", jobs[i].rules.Name).Str("app", jobs[i].app).Msg("policy release skipped")
		default:
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

func (p *PullRequests) releaseByPolicy(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, a *artifact.Artifact, rules *EnvironmentRules, app string) error {
	env, err := p.open(ctx, rules)
	if err != nil {
		return err
	}
	unlock := p.locks.lock(rules.Name + "/" + app)
	defer unlock()
	trigger := "policy:" + a.ID + ":" + rules.Name + ":" + app
	// No person asked: the rules judge the commit (its origin), not an actor.
	ask := Ask{Env: rules, Repo: repo, GitHub: gh}
	done, err := p.Releaser.Release(ctx, env, DeployRequest{Artifact: a, Env: rules.Name, App: app, Actor: gitops.Actor{TriggeredBy: PolicyActor, Trigger: trigger}, Ask: ask})
	if err != nil {
		return classify(err)
	}
	if allRecorded(done) || !done[0].Result.Changed {
		return nil
	}
	zerolog.Ctx(ctx).Info().Str("env", rules.Name).Str("app", app).Str("commit", done[0].Result.Commit).Msg("released by policy")
	if _, err := p.land(ctx, rules, a, done, PolicyActor); err != nil {
		return err
	}
	pr := prNumber(a)
	check, err := p.announce(ctx, gh, repo, rules, a, done, PolicyActor, pr)
	if err != nil {
		return err
	}
	p.started(repo, rules, a, done, PolicyActor, pr, check)
	return nil
}

// keyedLocks serialises work per key (an env/app) within this process: two releases of
// one app run in order, different apps in parallel.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l, ok := k.locks[key]
	if !ok {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
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

// EnvironmentForAction finds the environment a "Deploy to <env>" button names (its
// identifier may have been cut to GitHub's 20 characters).
func (p *PullRequests) EnvironmentForAction(identifier string) (string, bool) {
	name, ok := strings.CutPrefix(identifier, "deploy:")
	if !ok {
		return "", false
	}
	match := ""
	for _, e := range p.Environments {
		if DeployActionID(e.Name) == identifier {
			if match != "" && match != e.Name {
				return "", false
			}
			match = e.Name
		}
	}
	if match == "" {
		return name, true
	}
	return match, true
}
