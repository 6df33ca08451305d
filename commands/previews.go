package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
	"github.com/auger-dev/auger/notify"
)

// Preview states told in a pull request's preview comment.
const (
	PreviewReleased = "released, rolling out"
	PreviewLive     = "live"
	PreviewFailed   = "failed"
	PreviewRemoved  = "removed"
)

// previewMarker tags the one comment a pull request has per preview, so it is found and
// kept up to date instead of piling up.
func previewMarker(env, app string) string {
	return "<!-- auger:preview=" + env + "/" + app + " -->"
}

// PreviewURL is where a preview is reachable: the environment's url with {{ .APP }}
// replaced by the preview's app name (empty when the environment has no url).
func PreviewURL(rules *EnvironmentRules, app string) string {
	if rules == nil || rules.URL == "" {
		return ""
	}
	url := strings.ReplaceAll(rules.URL, "{{ .APP }}", app)
	return strings.ReplaceAll(url, "{{.APP}}", app)
}

// tellPreview creates or updates a pull request's comment about one preview. A state
// that only follows a release (live, failed, removed) updates an existing comment and
// creates none: an app without one is no preview.
func tellPreview(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, pr int, rules *EnvironmentRules, app, sha, state, detail string) error {
	if pr == 0 {
		return nil
	}
	env := rules.Name
	var b strings.Builder
	icon := map[string]string{PreviewReleased: "🟡", PreviewLive: "🟢", PreviewFailed: "🔴", PreviewRemoved: "🧹"}[state]
	fmt.Fprintf(&b, "%s **Preview** `%s` in **%s**: %s\n\n", icon, app, env, state)
	if url := PreviewURL(rules, app); url != "" && state != PreviewRemoved {
		fmt.Fprintf(&b, "- URL: %s\n", url)
	}
	if sha != "" {
		fmt.Fprintf(&b, "- Commit: `%s`\n", text.Short(sha))
	}
	if detail != "" {
		fmt.Fprintf(&b, "- %s\n", escapeMarkdown(detail))
	}
	b.WriteString("\n" + previewMarker(env, app))
	comments, err := gh.Comments(ctx, repo, pr)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.Contains(c.Body, previewMarker(env, app)) {
			if c.Body == b.String() {
				return nil
			}
			return gh.UpdateComment(ctx, repo, c.ID, b.String())
		}
	}
	if state != PreviewReleased {
		return nil
	}
	_, err = gh.CreateComment(ctx, repo, pr, b.String())
	return err
}

// tellPreviews tells the previews among released apps on their pull request.
func (p *PullRequests) tellPreviews(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, rules *EnvironmentRules, a *artifact.Artifact, done []Released, pr int) {
	if pr == 0 {
		pr = prNumber(a)
	}
	for _, r := range done {
		if !isPreview(a, rules.Name, r.App) {
			continue
		}
		if err := tellPreview(ctx, gh, repo, pr, rules, r.App, a.Version.SHA, PreviewReleased, ""); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("app", r.App).Msg("could not update the preview comment")
		}
	}
}

// isPreview tells whether app in env comes from a preview env config of the artifact.
func isPreview(a *artifact.Artifact, env, app string) bool {
	for _, ec := range a.Environments {
		if !ec.Preview {
			continue
		}
		if resolved, err := a.Resolve(ec); err == nil && resolved.Env == env && resolved.App == app {
			return true
		}
	}
	return false
}

// prOfVersion is the pull request an artifact version was built for, or 0.
func prOfVersion(v artifact.Version) int {
	return prNumber(&artifact.Artifact{Version: v})
}

// prNumber is the pull request an artifact was built for, or 0.
func prNumber(a *artifact.Artifact) int {
	n, _ := strconv.Atoi(a.Vars(artifact.EnvConfig{})["PR"])
	return n
}

// CleanupRequest asks for the apps whose cleanup policy matches an event to be deleted:
// a pull request closed, or a branch deleted.
type CleanupRequest struct {
	Repo   RepoRef
	Event  artifact.CleanupEvent
	Branch string
	// SHA is where to read the env configs (the pull request's head); empty reads the
	// default branch.
	SHA string
	// PR, when set, gets the preview comments updated.
	PR int
	// HeadRepo is the full name of the repository the pull request's head lives in, as
	// the event says ("" when GitHub names none: a deleted fork).
	HeadRepo string
	Actor    gitops.Actor
}

// Cleaned is one app a cleanup deleted (or found gone already).
type Cleaned struct {
	Env, App string
	Result   gitops.Result
}

// Cleanup deletes the apps whose env configs' cleanup policy matches the event. It is
// idempotent: an app already gone changes nothing.
func (p *PullRequests) Cleanup(ctx context.Context, gh PullRequestsGitHub, req CleanupRequest) ([]Cleaned, error) {
	configs, err := p.envConfigs(ctx, gh, req.Repo, req.SHA)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err // GitHub failed: the delivery fails, and its redelivery retries
	case len(configs) == 0:
		return nil, nil
	}
	a := &artifact.Artifact{ID: "cleanup", Version: artifact.Version{RepositoryName: req.Repo.FullName(), SHA: req.SHA,
		Branch: req.Branch, SourceBranch: req.Branch, Event: artifact.EventPush}}
	fork := req.PR != 0 && !strings.EqualFold(req.HeadRepo, req.Repo.FullName())
	if req.PR != 0 {
		a.Version.Event, a.Version.URL = artifact.EventPR, fmt.Sprintf("%s%s/pull/%d", p.WebURL, req.Repo.FullName(), req.PR)
	}
	if fork {
		// A fork's branch is no branch here: its previews are named after the pull request.
		a.Version.Branch, a.Version.SourceBranch = "", ""
	}
	// The env configs read come from req.SHA: the rules judge that commit, as they judge
	// a release's. Without a sha they come from the default branch.
	ask := Ask{Action: gitops.ActionDelete, Repo: req.Repo, GitHub: gh}
	if req.SHA != "" {
		ask.Commit = CommitRef{Repo: req.Repo, SHA: req.SHA}
		if req.PR != 0 {
			ask.Commit.PR = &PullRequest{Number: req.PR, HeadSHA: req.SHA, HeadRef: req.Branch, HeadRepo: req.HeadRepo}
		}
	}
	var done []Cleaned
	var failed []error
	for _, ec := range configs {
		if ok, _ := artifact.MatchCleanup(ec.Cleanup, req.Event, req.Branch); !ok {
			continue
		}
		app, err := a.CleanupApp(ec)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		rules, err := p.environment(ec.Env)
		if err != nil {
			continue
		}
		ask.Env, ask.Apps = rules, []string{app}
		if err := p.Releaser.Authorize(ctx, ask); err != nil {
			zerolog.Ctx(ctx).Info().Err(err).Str("env", rules.Name).Str("app", app).Msg("cleanup refused")
			continue
		}
		env, err := p.open(ctx, rules)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		target := gitops.Target{Env: rules.Name, Path: rules.Path, App: app}
		if fork {
			// A fork's env configs may name any app: they delete only a preview released
			// from this very pull request.
			rec, err := env.Repo.Current(ctx, target)
			if err != nil {
				failed = append(failed, err)
				continue
			}
			if rec != nil && (!rec.Preview || !strings.EqualFold(rec.Version.RepositoryName, req.Repo.FullName()) || prOfVersion(rec.Version) != req.PR) {
				zerolog.Ctx(ctx).Warn().Str("env", rules.Name).Str("app", app).Int("pr", req.PR).Msg("a fork's cleanup names an app it did not release; left alone")
				continue
			}
		}
		res, err := env.Repo.Delete(ctx, target, req.Actor)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		done = append(done, Cleaned{Env: rules.Name, App: app, Result: res})
		if res.Changed {
			zerolog.Ctx(ctx).Info().Str("env", rules.Name).Str("app", app).Str("commit", res.Commit).Msg("cleaned up")
			p.tell(notify.Event{Kind: notify.CleanedUp, Env: rules.Name, App: app, Repository: req.Repo.FullName(), Actor: req.Actor.TriggeredBy})
		}
		if err := tellPreview(ctx, gh, req.Repo, req.PR, rules, app, "", PreviewRemoved, "removed from the gitops repository by "+cleanupWhy(req.Event)); err != nil {
			failed = append(failed, err)
		}
	}
	return done, errors.Join(failed...)
}

func cleanupWhy(e artifact.CleanupEvent) string {
	if e == artifact.CleanupPRClosed {
		return "the pull request's closing"
	}
	return "the branch's deletion"
}

// envConfigs reads the env configs at sha: from the artifact recorded there when there
// is one, else from .auger/ (at the default branch when sha is empty) through
// ReadEnvConfigs, the reader recording uses. Problems in .auger/ are logged for the
// author and leave the valid env configs to be used; a failure to look for the
// recorded artifact is logged too, and .auger/ is read instead.
func (p *PullRequests) envConfigs(ctx context.Context, gh PullRequestsGitHub, repo RepoRef, sha string) ([]artifact.EnvConfig, error) {
	log := zerolog.Ctx(ctx)
	if sha != "" {
		runs, err := gh.CheckRuns(ctx, repo, sha)
		if err != nil {
			log.Error().Err(err).Str("sha", sha).Msg("could not look for the recorded artifact; reading the env configs in " + EnvConfigDir + "/ instead")
		}
		for _, cr := range runs {
			if p.Recorder.own(cr) && cr.Name == CheckArtifact && cr.Conclusion == "success" {
				a, err := ArtifactFromCheckRun(cr)
				if err == nil {
					return a.Environments, nil
				}
				log.Error().Err(err).Int64("check_run", cr.ID).Msg("could not read the recorded artifact; reading the env configs in " + EnvConfigDir + "/ instead")
			}
		}
	}
	configs, problems, err := ReadEnvConfigs(ctx, gh, repo, sha)
	for _, pr := range problems {
		log.Warn().Str("sha", sha).Str("problem", pr.String()).Msg("invalid env config: left out; the valid ones are used")
	}
	return configs, err
}

// Notifier tells an environment's channels (Slack, webhooks) about releases; package
// notify's Dispatcher implements it, sending in the background so a slow channel never
// holds a release up.
type Notifier interface {
	Notify(e notify.Event)
}

// tell sends one event when a Notifier is configured.
func (p *PullRequests) tell(e notify.Event) {
	if p.Notifier == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	p.Notifier.Notify(e)
}
