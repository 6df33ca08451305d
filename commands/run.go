package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/auger-dev/auger/internal/text"
	"github.com/rs/zerolog"
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
// request came from: 👀 and one reply comment (😕 too when it was not done), a check run
// and a Deployment.
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
	// Acknowledged says the comment got its 👀 already, from a fast lane that does not
	// wait for the command's turn (Acknowledge); Run then does not react again.
	Acknowledged bool
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

// change runs a command that changes the gitops repository (deploy, rollback, lock,
// unlock): the part every way in (comment, dashboard) shares.
func (p *PullRequests) change(ctx context.Context, gh PullRequestsGitHub, t Trigger, cmd Command) (string, error) {
	switch c := cmd.(type) {
	case Deploy:
		return p.deploy(ctx, gh, t, c.Env, c.App)
	case Rollback:
		return p.rollback(ctx, gh, t, c)
	case Lock:
		return p.lock(ctx, gh, t, c)
	case Unlock:
		return p.unlock(ctx, gh, t, c)
	}
	return "", tell(fmt.Errorf("%v changes nothing", cmd))
}

// Run executes one command and answers it on the pull request; parseErr, when the
// comment held a command Auger could not parse, is answered instead. Mistakes and
// refusals are answered there and return nil; Auger's own failures are answered and
// returned.
func (p *PullRequests) Run(ctx context.Context, gh PullRequestsGitHub, t Trigger, cmd Command, parseErr error) error {
	log := zerolog.Ctx(ctx)
	if !t.Acknowledged {
		p.Acknowledge(ctx, gh, t)
	}
	var (
		reply string
		err   error
	)
	switch c := cmd.(type) {
	case nil:
		err = tell(parseErr)
	case Deploy, Rollback, Lock, Unlock:
		reply, err = p.change(ctx, gh, t, c)
	case Status:
		reply, err = p.status(ctx, gh, t, c)
	case Diff:
		reply, err = p.diff(ctx, gh, t, c)
	case Help:
		reply = HelpText
	default:
		err = tell(fmt.Errorf("unknown command %v; try /help", cmd))
	}
	if errors.Is(err, errAlreadyDone) {
		log.Info().Str("trigger", t.ID).Msg("already done for this trigger; nothing more to say")
		return nil
	}
	if err != nil {
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
	// A success is told by the reply alone (a 🚀 would repeat it); a refusal or a failure
	// also gets 😕 on the comment, which shows in the comment's own place.
	if t.CommentID != 0 && err != nil {
		if rerr := gh.React(ctx, t.Repo, t.CommentID, "confused"); rerr != nil {
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

// Acknowledge puts 👀 on the comment of a command, so that its author knows Auger heard
// it. The server calls it in a fast lane as the webhook arrives, before the command
// waits for a worker; its GitHub adapter lets the reaction go before any other creating
// request of the installation.
func (p *PullRequests) Acknowledge(ctx context.Context, gh Conversation, t Trigger) bool {
	if t.CommentID == 0 {
		return false
	}
	if err := gh.React(ctx, t.Repo, t.CommentID, "eyes"); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not acknowledge the comment")
		return false
	}
	return true
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
		upd := CheckRun{ID: cr.ID, Name: cr.Name, Title: cr.Title, Summary: text.Truncate(line+"\n"+cr.Summary, maxOutputText), Text: cr.Text}
		_, uerr := gh.UpdateCheckRun(ctx, t.Repo, upd)
		return uerr
	}
	return fmt.Errorf("check run %d is not on %s", t.CheckRunID, text.Short(t.SHA))
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

// errAlreadyDone stops a redelivered request, whose answer was already given.
var errAlreadyDone = errors.New("already done")

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
