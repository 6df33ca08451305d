package commands

import (
	"context"
	"errors"
	"fmt"
)

// DashboardTriggerPrefix starts the trigger of every change asked on the dashboard:
// "dashboard:<id>", the id being the one of the form the person sent, so a form sent
// twice changes things once.
const DashboardTriggerPrefix = "dashboard:"

// Dashboard runs a command a person asked for on the dashboard, through the same
// pipeline and Authorizer as a comment or a button, and returns the answer to show
// them. Nothing is said on GitHub besides what the release itself announces (the
// deploy check run and the Deployment): the answer is the dashboard's. A refusal or a
// mistake comes back as an error for which IsUserError is true (a *Refusal when a rule
// refused); Auger's own failures as any other error.
func (p *PullRequests) Dashboard(ctx context.Context, gh PullRequestsGitHub, t Trigger, cmd Command) (string, error) {
	switch cmd.(type) {
	case Deploy, Rollback, Lock, Unlock:
	default:
		return "", tell(fmt.Errorf("the dashboard does not run %v", cmd))
	}
	reply, err := p.change(ctx, gh, t, cmd)
	if errors.Is(err, errAlreadyDone) {
		return "Already done: this form was sent before, and what it asked for was done then.", nil
	}
	return reply, err
}

// IsUserError tells whether err is the asker's to act on (a refusal, a mistake), not
// a failure of Auger's.
func IsUserError(err error) bool {
	var ue userError
	return errors.As(err, &ue)
}

// Own tells whether a check run is this Auger's (its App created it).
func (r *Recorder) Own(cr CheckRun) bool { return r.own(cr) }

// CIState says whether a commit's CI (the check runs that count as CI) passed:
// "" when it did, else OutcomeWaitingForCI or OutcomeCIFailed and why.
func (r *Recorder) CIState(runs []CheckRun) (Outcome, string) {
	_, outcome, reason := r.ciState(runs)
	return outcome, reason
}
