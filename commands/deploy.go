package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/text"
)

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
			return nil, cr, runs, tell(&Refusal{Rule: "artifact", Reason: fmt.Sprintf("the env configs of %s are invalid", text.Short(sha)),
				Remedy: "See the " + CheckArtifact + " check (" + cr.HTMLURL + "), fix them and push"})
		}
		a, err := ArtifactFromCheckRun(cr)
		if err != nil {
			return nil, cr, runs, fmt.Errorf("read the artifact recorded on %s: %w", text.Short(sha), err)
		}
		return a, cr, runs, nil
	}
	_, outcome, reason := p.Recorder.ciState(runs)
	switch outcome {
	case OutcomeWaitingForCI:
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact for " + text.Short(sha) + " yet: " + reason, Remedy: "Comment again when CI has passed"})
	case OutcomeCIFailed:
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact for " + text.Short(sha) + ": " + reason, Remedy: "Fix CI and push"})
	}
	if _, err := gh.ReadDir(ctx, repo, sha, EnvConfigDir); errors.Is(err, ErrNotFound) {
		return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "the repository has no " + EnvConfigDir + "/ folder at " + text.Short(sha),
			Remedy: "Add env configs in " + EnvConfigDir + "/ (see Auger's README)"})
	}
	return nil, CheckRun{}, runs, tell(&Refusal{Rule: "artifact", Reason: "no artifact recorded for " + text.Short(sha) + " yet", Remedy: "Comment again in a minute"})
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
		return "", tell(&Refusal{Rule: "pull request head", Reason: fmt.Sprintf("the head of #%d is now %s, whose artifact was recorded after your comment", t.PR, text.Short(sha)),
			Remedy: "A comment only deploys what it saw; comment again to deploy " + text.Short(sha)})
	}
	s := &shipment{repo: t.Repo, rules: rules, art: a, app: app, actor: t.Actor, trigger: t.ID, pr: t.PR, ask: p.ask(gh, t, rules)}
	s.ask.PR, s.ask.Runs, s.ask.Commit.PR = pr, runs, pr
	if err := p.write(ctx, s); err != nil {
		return "", err
	}
	if s.recovering {
		// A redelivery: the release landed before. The reply is the last step, so a
		// reply on the pull request means everything was done.
		replied, err := p.replied(ctx, gh, t)
		if err != nil {
			return "", err
		}
		if replied || t.PR == 0 {
			return "", errAlreadyDone
		}
	}
	if err := p.finish(ctx, gh, s); err != nil {
		return "", err
	}
	return p.releasedReply(rules, a, s.landed, s.check), nil
}
