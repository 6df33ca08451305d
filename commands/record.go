package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/google/uuid"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

// Names Auger gives what it records on a commit.
const (
	CheckArtifact       = "Auger: artifact"
	CheckArtifactUpload = "Auger: artifact upload"
	EnvConfigDir        = ".auger"
)

// GitHub's limits on check runs and statuses.
const (
	maxOutputText       = 65535
	maxAnnotations      = 50
	maxActions          = 3
	maxActionLabel      = 20
	maxActionDesc       = 40
	maxActionIdentifier = 20
	maxStatusDesc       = 140
)

// EnvironmentRules are the operator's rules for one environment: where its releases
// go and who may release there.
type EnvironmentRules struct {
	Name string
	// PolicyBranches are the branch globs (with "!" negation) allowed to release here by
	// policy; empty allows every branch.
	PolicyBranches []string
	// Permission is the least repository role that may release: write, maintain or admin.
	Permission string
	// Teams (org/slug) and Users, when given, further restrict who may release.
	Teams []string
	Users []string
	// RequireApproval needs an approved pull request; RequireChecks every CI check on
	// its head green; AllowForks lets pull requests from forks release.
	RequireApproval bool
	RequireChecks   bool
	AllowForks      bool
	// URL is where the environment is reachable (the Deployment's environment_url).
	URL string
	// LiveStatus says an Auger agent reports rollouts from the environment; without one,
	// a release's deploy check run ends when its gitops commit lands.
	LiveStatus bool
	// AgentTimeout ends a release's deploy check run as neutral when the agent has not
	// reported on it by then (0: never).
	AgentTimeout time.Duration
	Production   bool
	// Path is the environment's folder in its gitops repository (default Name).
	Path string
	// Gitops opens the environment's gitops repository with fresh credentials, and
	// GitopsCommitURL links a gitops commit (empty when there is no web view).
	Gitops          func(ctx context.Context) (*gitops.Repo, error)
	GitopsCommitURL func(sha string) string
	// PullRequests lands releases as pull requests on GitopsRepo (through
	// GitopsGitHub) instead of pushing them; AutoMerge merges them when GitHub will.
	PullRequests bool
	AutoMerge    bool
	GitopsRepo   RepoRef
	GitopsBranch string
	GitopsGitHub func(ctx context.Context) (GitopsPullRequests, error)
}

// Recorder records release artifacts on commits whose CI passed.
type Recorder struct {
	// AppID is Auger's own GitHub App: its check runs never count as CI.
	AppID int64
	// CIChecks names the check runs that count as CI; empty means every check run on
	// the commit not created by Auger.
	CIChecks     []string
	Environments []EnvironmentRules
	// Renderer, when set, renders each env config before its artifact is recorded, so
	// values the chart's schema refuses and patches that do not apply fail the artifact
	// check run on their lines instead of a release later.
	Renderer Renderer

	inflight keyedLocks
}

// PullRequestRef is the pull request a commit is the head of.
type PullRequestRef struct {
	Number  int
	HeadRef string
	BaseRef string
	URL     string
	// Fork names the repository the head comes from when it is not the base repository
	// ("" for the base repository; "(deleted fork)" when GitHub no longer names it).
	Fork string
}

// RecordGitHub is what recording needs from GitHub.
type RecordGitHub interface {
	GitHub
	// PullRequestsWithHead lists the open pull requests whose head is sha, from forks too.
	PullRequestsWithHead(ctx context.Context, repo RepoRef, sha string) ([]PullRequest, error)
	// TagCommit reads the commit refs/tags/<tag> names (an annotated tag peeled); a tag
	// GitHub does not know is ok false, not an error.
	TagCommit(ctx context.Context, repo RepoRef, tag string) (c Commit, ok bool, err error)
}

// RecordRequest names a commit to record an artifact for, with what its check event
// said. Recording depends on nothing else: not on which process saw the push before it,
// nor on any memory of earlier events.
type RecordRequest struct {
	Repo RepoRef
	SHA  string
	// HeadBranch is the check suite's head_branch: the ref whose push made the suite. For
	// a branch push it is the branch; for a tag push GitHub puts the tag's name there.
	// Record asks GitHub which of the two it is (see mayBeTag). Empty for a fork's head.
	HeadBranch string
	// DefaultBranch is the repository's default branch, as the event says: a suite named
	// after it is that branch's, without asking.
	DefaultBranch string
	PullRequest   *PullRequestRef
	// Commit is set when the event carried the commit's details, saving a request.
	Commit *Commit
}

// Outcome says what Record did.
type Outcome string

// The outcomes of Record.
const (
	OutcomeRecorded        Outcome = "recorded"
	OutcomeAlreadyRecorded Outcome = "already-recorded"
	OutcomeWaitingForCI    Outcome = "waiting-for-ci"
	OutcomeCIFailed        Outcome = "ci-failed"
	OutcomeNoConfig        Outcome = "no-config"
	OutcomeInvalid         Outcome = "invalid"
)

// RecordResult is what Record did and why.
type RecordResult struct {
	Outcome  Outcome
	Reason   string
	Artifact *artifact.Artifact
	CheckRun CheckRun
}

// Record records the artifact of a commit once every check that counts as CI has
// succeeded: it reads the env configs in .auger/ (or an artifact CI uploaded with
// `auger artifact push`), builds the artifact and records it as the check run
// "Auger: artifact" (no commit status beside it: it would only repeat the check run,
// docs/github-app.md). Invalid env configs fail the
// check run with annotations on their lines. Recording is idempotent: a commit that
// already has its artifact check run is left alone.
func (r *Recorder) Record(ctx context.Context, gh RecordGitHub, req RecordRequest) (RecordResult, error) {
	unlock := r.lock(req.Repo.FullName() + "@" + req.SHA)
	defer unlock()

	runs, err := gh.CheckRuns(ctx, req.Repo, req.SHA)
	if err != nil {
		return RecordResult{}, fmt.Errorf("list check runs of %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
	}
	for _, cr := range runs {
		if r.own(cr) && cr.Name == CheckArtifact {
			return RecordResult{Outcome: OutcomeAlreadyRecorded, CheckRun: cr, Reason: "the commit already has its artifact check run"}, nil
		}
	}
	ci, outcome, reason := r.ciState(runs)
	if outcome != "" {
		return RecordResult{Outcome: outcome, Reason: reason}, nil
	}

	if req.HeadBranch == "" && req.PullRequest == nil {
		// GitHub's check events name no branch and no pull request for a fork's head:
		// look for the pull request it heads, so the artifact says where it comes from.
		if req.PullRequest, err = r.headOf(ctx, gh, req); err != nil {
			return RecordResult{}, err
		}
	}
	a, problems, err := r.build(ctx, gh, req, ci)
	if errors.Is(err, ErrNotFound) {
		return RecordResult{Outcome: OutcomeNoConfig, Reason: "the repository has no " + EnvConfigDir + "/ folder at this commit"}, nil
	}
	if err != nil {
		return RecordResult{}, err
	}
	if a == nil && len(problems) == 0 {
		return RecordResult{Outcome: OutcomeNoConfig, Reason: "no env configs in " + EnvConfigDir + "/"}, nil
	}
	if len(problems) == 0 && r.knownOrigin(req) == "base" {
		// Not for forks: their charts are fetched only once someone may release them.
		problems = checkRendering(ctx, r.Renderer, a)
	}
	if len(problems) == 0 {
		var artifactJSON string
		artifactJSON, problems = artifactText(a)
		if len(problems) == 0 {
			cr, err := r.recordArtifact(ctx, gh, req, a, artifactJSON, r.knownOrigin(req))
			if err != nil {
				return RecordResult{}, err
			}
			return RecordResult{Outcome: OutcomeRecorded, Artifact: a, CheckRun: cr}, nil
		}
	}
	cr, err := r.recordInvalid(ctx, gh, req, problems)
	if err != nil {
		return RecordResult{}, err
	}
	return RecordResult{Outcome: OutcomeInvalid, CheckRun: cr, Reason: fmt.Sprintf("%d problems in the env configs", len(problems))}, nil
}

// headOf finds the open pull request whose head is the commit, fork or not, or nil.
func (r *Recorder) headOf(ctx context.Context, gh RecordGitHub, req RecordRequest) (*PullRequestRef, error) {
	prs, err := gh.PullRequestsWithHead(ctx, req.Repo, req.SHA)
	if err != nil {
		return nil, fmt.Errorf("find the pull request of %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
	}
	for _, pr := range prs {
		if pr.HeadSHA != req.SHA {
			continue
		}
		ref := &PullRequestRef{Number: pr.Number, BaseRef: pr.BaseRef, URL: pr.HTMLURL, HeadRef: pr.HeadRef}
		if !strings.EqualFold(pr.HeadRepo, req.Repo.FullName()) {
			// A fork's branch is no branch of this repository: the artifact names none.
			ref.HeadRef, ref.Fork = "", firstNonEmpty(pr.HeadRepo, "(deleted fork)")
		}
		return ref, nil
	}
	return nil, nil
}

// lock serialises work on one commit within this process, so two events for it cannot
// both record its artifact.
func (r *Recorder) lock(key string) func() { return r.inflight.lock(key) }

type keyLock struct {
	sync.Mutex
	refs int
}

func (r *Recorder) own(cr CheckRun) bool { return r.AppID != 0 && cr.AppID == r.AppID }

// ciState picks the check runs that count as CI and says whether they all passed; a
// non-empty outcome means "not (yet) releasable".
func (r *Recorder) ciState(runs []CheckRun) ([]CheckRun, Outcome, string) {
	var ci []CheckRun
	latest := map[string]CheckRun{}
	for _, cr := range runs {
		if r.own(cr) {
			continue
		}
		// A re-run creates a new check run with the same name: the newest counts.
		if prev, ok := latest[cr.Name]; !ok || cr.ID > prev.ID {
			latest[cr.Name] = cr
		}
	}
	names := r.CIChecks
	if len(names) == 0 {
		for name := range latest {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var pending, failed []string
	for _, name := range names {
		cr, ok := latest[name]
		switch {
		case !ok || cr.Status != "completed":
			pending = append(pending, name)
		case cr.Conclusion != "success" && cr.Conclusion != "neutral" && cr.Conclusion != "skipped":
			failed = append(failed, fmt.Sprintf("%s (%s)", name, cr.Conclusion))
		default:
			ci = append(ci, cr)
		}
	}
	if len(failed) > 0 {
		return nil, OutcomeCIFailed, "CI failed: " + strings.Join(failed, ", ")
	}
	if len(pending) > 0 {
		return nil, OutcomeWaitingForCI, "CI still running: " + strings.Join(pending, ", ")
	}
	return ci, "", ""
}

// build makes the artifact from an upload by CI, or from the env configs in .auger/.
// It returns a nil artifact with no problems when there is nothing to release.
func (r *Recorder) build(ctx context.Context, gh RecordGitHub, req RecordRequest, ci []CheckRun) (*artifact.Artifact, []artifact.Problem, error) {
	var upload *CheckRun
	for i, cr := range ci {
		if cr.Name == CheckArtifactUpload && (upload == nil || cr.ID > upload.ID) {
			upload = &ci[i]
		}
	}
	if upload != nil {
		return r.fromUpload(req, *upload)
	}

	configs, problems, err := ReadEnvConfigs(ctx, gh, req.Repo, req.SHA)
	if err != nil {
		return nil, nil, err
	}
	if len(configs) == 0 && len(problems) == 0 {
		return nil, nil, nil
	}
	branch, tag, commit := req.HeadBranch, "", req.Commit
	if len(problems) == 0 && mayBeTag(req) {
		tagged, ok, err := gh.TagCommit(ctx, req.Repo, req.HeadBranch)
		if err != nil {
			return nil, nil, fmt.Errorf("tell whether %s of %s@%s is a tag: %w", req.HeadBranch, req.Repo.FullName(), text.Short(req.SHA), err)
		}
		if ok && strings.EqualFold(tagged.SHA, req.SHA) {
			branch, tag = "", req.HeadBranch
			if commit == nil {
				commit = &tagged // the same request told the commit's details
			}
		}
	}

	if commit == nil {
		c, err := gh.Commit(ctx, req.Repo, req.SHA)
		if err != nil {
			return nil, nil, fmt.Errorf("read commit %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
		}
		commit = &c
	}
	a := artifact.New(r.version(req, branch, tag, *commit), checkContext(ci))
	a.ID = ArtifactID(req.Repo, req.SHA)
	a.Environments = configs
	for _, cr := range ci {
		if u := firstNonEmpty(cr.DetailsURL, cr.HTMLURL); u != "" {
			a.Items = append(a.Items, artifact.Item{Name: cr.Name, URL: u})
		}
	}
	if err := a.Validate(); err != nil {
		problems = append(problems, problemsOf(err, "")...)
	}
	for _, ec := range a.Environments {
		if _, err := a.Resolve(ec); err != nil {
			problems = append(problems, problemsOf(err, ec.File)...)
		}
	}
	return a, problems, nil
}

// fromUpload reads the artifact CI uploaded as the check run "Auger: artifact upload".
func (r *Recorder) fromUpload(req RecordRequest, upload CheckRun) (*artifact.Artifact, []artifact.Problem, error) {
	where := CheckArtifactUpload + " check run"
	a, err := artifact.Parse([]byte(unfence(upload.Text)))
	if err != nil {
		return nil, problemsOf(err, where), nil
	}
	if a.Version.SHA != req.SHA || !strings.EqualFold(a.Version.RepositoryName, req.Repo.FullName()) {
		return nil, []artifact.Problem{{File: where, Message: fmt.Sprintf("the uploaded artifact is for %s@%s, not for this commit %s@%s",
			a.Version.RepositoryName, text.Short(a.Version.SHA), req.Repo.FullName(), text.Short(req.SHA))}}, nil
	}
	var problems []artifact.Problem
	for _, ec := range a.Environments {
		if _, err := a.Resolve(ec); err != nil {
			problems = append(problems, problemsOf(err, where)...)
		}
	}
	return a, problems, nil
}

// mayBeTag tells whether the suite's head_branch may name a tag rather than a branch:
// the event does not say, and only GitHub's refs tell them apart. A pull request's head
// and the default branch are branches; any other name is looked up among the tags
// (one request), so that a tag's artifact is a tag's whatever its env configs hold (a
// tag policy, "{{ .TAG }}" in values, a Deploy button) and a tag never releases as a
// push to a branch of its name.
func mayBeTag(req RecordRequest) bool {
	return req.HeadBranch != "" && req.HeadBranch != req.DefaultBranch && req.PullRequest == nil
}

// version is the artifact's version: a tag's, a pull request's, or a branch push's.
func (r *Recorder) version(req RecordRequest, branch, tag string, c Commit) artifact.Version {
	v := artifact.Version{
		RepositoryName: req.Repo.FullName(),
		SHA:            req.SHA,
		Branch:         branch,
		Event:          artifact.EventPush,
		AuthorName:     c.AuthorName,
		AuthorEmail:    c.AuthorEmail,
		CommitterName:  c.CommitterName,
		CommitterEmail: c.CommitterEmail,
		Message:        c.Message,
		URL:            c.HTMLURL,
	}
	switch {
	case tag != "":
		v.Event, v.Tag = artifact.EventTag, tag
	case req.PullRequest != nil:
		// A fork's head has no branch here (HeadRef is empty): previews are then named
		// from the pull request's number, never from a branch of this repository.
		v.Event = artifact.EventPR
		v.Branch, v.SourceBranch, v.TargetBranch = req.PullRequest.HeadRef, req.PullRequest.HeadRef, req.PullRequest.BaseRef
		v.URL = firstNonEmpty(req.PullRequest.URL, v.URL)
	}
	return v
}

// checkContext puts each CI check's conclusion into the artifact's context as
// CHECK_<NAME>, so values can refer to it.
func checkContext(ci []CheckRun) map[string]string {
	ctx := map[string]string{}
	for _, cr := range ci {
		ctx["CHECK_"+envName(cr.Name)] = cr.Conclusion
	}
	return ctx
}

func envName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

// artifactNamespace makes artifact ids recorded by the server a function of the
// repository and commit, so every replica and every redelivery derives the same id.
var artifactNamespace = uuid.MustParse("5e1f1c8e-6a59-4f5e-9a57-7b0c3f4c2a11")

// ArtifactID is the id of the artifact Auger records for a commit.
func ArtifactID(repo RepoRef, sha string) string {
	return repo.FullName() + "-" + uuid.NewSHA1(artifactNamespace, []byte(strings.ToLower(repo.FullName())+"@"+sha)).String()
}

// problemsOf turns an error into problems, keeping file and line when it has them.
func problemsOf(err error, file string) []artifact.Problem {
	var ve *artifact.ValidationError
	if errors.As(err, &ve) {
		ps := append([]artifact.Problem(nil), ve.Problems...)
		for i := range ps {
			if ps[i].File == "" {
				ps[i].File = file
			}
		}
		return ps
	}
	return []artifact.Problem{{File: file, Message: err.Error()}}
}

// knownOrigin says what the event and the pull request found say about where the
// commit comes from, for the buttons the artifact offers: a branch or tag of the base
// repository, or a pull request from it, is "base"; a fork's pull request "fork"; else
// "". Only what is shown depends on it: a click is judged again by the Rules, which
// ask GitHub.
func (r *Recorder) knownOrigin(req RecordRequest) string {
	switch {
	case req.PullRequest != nil && req.PullRequest.Fork != "":
		return "fork"
	case req.HeadBranch != "" || req.PullRequest != nil:
		return "base"
	}
	return ""
}

func (r *Recorder) recordArtifact(ctx context.Context, gh GitHub, req RecordRequest, a *artifact.Artifact, artifactJSON, origin string) (CheckRun, error) {
	summary, envs := r.summary(a)
	title := "Artifact for " + joinOr(envs, "no environment")
	if origin != "base" {
		// Environments that refuse forks get no button for a commit not known to be
		// the base repository's, and the summary says so in one line.
		var open, closed []string
		for _, env := range envs {
			if rules := r.environment(env); rules != nil && rules.AllowForks {
				open = append(open, env)
			} else {
				closed = append(closed, env)
			}
		}
		if len(closed) > 0 {
			from := "its origin is unknown (no branch, tag or pull request of " + req.Repo.FullName() + " has it)"
			if origin == "fork" {
				from = "it comes from the fork " + req.PullRequest.Fork
			}
			they := "they take"
			if len(closed) == 1 {
				they = "it takes"
			}
			summary += fmt.Sprintf("\n**Not releasable to %s**: %s, and %s only commits of %s.\n", strings.Join(closed, ", "), from, they, req.Repo.FullName())
		}
		envs = open
	}
	cr, err := createCheckRunOnce(ctx, gh, req.Repo, CheckRun{
		Name:       CheckArtifact,
		HeadSHA:    req.SHA,
		Status:     "completed",
		Conclusion: "success",
		ExternalID: a.ID,
		Title:      title,
		Summary:    summary,
		Text:       artifactJSON,
		Actions:    deployActions(a, envs),
	})
	if err != nil {
		return CheckRun{}, fmt.Errorf("record artifact check run on %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
	}
	return cr, nil
}

// recordInvalid fails the artifact check run with one annotation per problem, so the
// author sees what to fix on the lines at fault.
func (r *Recorder) recordInvalid(ctx context.Context, gh GitHub, req RecordRequest, problems []artifact.Problem) (CheckRun, error) {
	var annotations []Annotation
	var b strings.Builder
	b.WriteString("Auger could not build a release artifact from this commit; nothing was recorded. Fix these and push again:\n\n")
	for _, p := range problems {
		fmt.Fprintf(&b, "- %s\n", escapeMarkdown(p.String()))
		if p.File == "" || strings.Contains(p.File, " ") {
			continue
		}
		line := max(p.Line, 1)
		msg := p.Message
		if p.Path != "" {
			msg = p.Path + ": " + p.Message
		}
		annotations = append(annotations, Annotation{Path: p.File, StartLine: line, EndLine: line, Level: "failure", Title: "Invalid env config", Message: msg})
	}
	first := annotations[:min(len(annotations), maxAnnotations)]
	cr, err := gh.CreateCheckRun(ctx, req.Repo, CheckRun{
		Name:        CheckArtifact,
		HeadSHA:     req.SHA,
		Status:      "completed",
		Conclusion:  "failure",
		Title:       fmt.Sprintf("%d problems in %s/", len(problems), EnvConfigDir),
		Summary:     text.Truncate(b.String(), maxOutputText),
		Annotations: first,
	})
	if err != nil {
		return CheckRun{}, fmt.Errorf("record invalid artifact check run on %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
	}
	// GitHub takes at most 50 annotations per request; the rest go in updates.
	for rest := annotations[len(first):]; len(rest) > 0; rest = rest[min(len(rest), maxAnnotations):] {
		upd := cr
		upd.Annotations = rest[:min(len(rest), maxAnnotations)]
		if _, err := gh.UpdateCheckRun(ctx, req.Repo, upd); err != nil {
			return cr, fmt.Errorf("annotate artifact check run on %s@%s: %w", req.Repo.FullName(), text.Short(req.SHA), err)
		}
	}
	return cr, nil
}

// artifactText is the artifact JSON as the check run's output text, where the release
// commands read it back from.
func artifactText(a *artifact.Artifact) (string, []artifact.Problem) {
	data, err := a.Marshal()
	if err != nil {
		return "", []artifact.Problem{{Message: err.Error()}}
	}
	text := fence(string(data))
	if n := utf8.RuneCountInString(text); n > maxOutputText {
		return "", []artifact.Problem{{File: EnvConfigDir, Message: fmt.Sprintf(
			"the artifact is %d characters; GitHub keeps at most %d in a check run, so move large values out of the env configs", n, maxOutputText)}}
	}
	return text, nil
}

const fenceOpen, fenceClose = "```json\n", "```\n"

func fence(s string) string { return fenceOpen + s + fenceClose }

// unfence returns the JSON inside a check run's output text, fenced or not.
func unfence(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "```json"); ok {
		s = strings.TrimSuffix(strings.TrimSpace(rest), "```")
	}
	return s
}

// ArtifactFromCheckRun reads the artifact recorded in an "Auger: artifact" check run.
func ArtifactFromCheckRun(cr CheckRun) (*artifact.Artifact, error) {
	return artifact.Parse([]byte(unfence(cr.Text)))
}

// summary is the markdown table of the artifact's environments and what each deploy
// policy will do, plus the environments that exist here (for buttons).
func (r *Recorder) summary(a *artifact.Artifact) (string, []string) {
	var b strings.Builder
	v := a.Version
	ref := v.Branch
	if v.Tag != "" {
		ref = v.Tag
	}
	fmt.Fprintf(&b, "Release artifact `%s` of %s `%s` (%s %s).\n\n", a.ID, v.RepositoryName, text.Short(v.SHA), v.Event, escapeMarkdown(ref))
	b.WriteString("| App | Environment | Namespace | Chart | Deploy policy |\n| --- | --- | --- | --- | --- |\n")
	var envs []string
	seen := map[string]bool{}
	for _, ec := range a.Environments {
		resolved, err := a.Resolve(ec)
		if err != nil {
			resolved = ec
		}
		policy := r.PolicyVerdict(resolved, v)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", escapeMarkdown(resolved.App), escapeMarkdown(resolved.Env), escapeMarkdown(resolved.Namespace),
			escapeMarkdown(chartName(resolved.Chart)), escapeMarkdown(policy.String()))
		if r.environment(resolved.Env) != nil && !seen[resolved.Env] {
			seen[resolved.Env] = true
			envs = append(envs, resolved.Env)
		}
	}
	if len(envs) == 0 {
		b.WriteString("\nNone of these environments is configured on this Auger server; ask its operator.\n")
	} else {
		fmt.Fprintf(&b, "\nRelease it with `/deploy <env>` on a pull request, or with the buttons above.\n")
	}
	return b.String(), envs
}

// PolicyVerdict says whether an env config's deploy policy releases an artifact
// version, and why.
type PolicyVerdict struct {
	Release bool
	Reason  string
}

func (p PolicyVerdict) String() string {
	if p.Release {
		return "will release: " + p.Reason
	}
	return "no: " + p.Reason
}

// PolicyVerdict evaluates a resolved env config's deploy policy against a version and
// the environment's policyBranches.
func (r *Recorder) PolicyVerdict(ec artifact.EnvConfig, v artifact.Version) PolicyVerdict {
	matched, reason := artifact.MatchDeploy(ec.Deploy, v)
	if !matched {
		return PolicyVerdict{Reason: reason}
	}
	env := r.environment(ec.Env)
	if env == nil {
		return PolicyVerdict{Reason: fmt.Sprintf("%s, but this Auger server has no environment %q", reason, ec.Env)}
	}
	if v.Event != artifact.EventTag && len(env.PolicyBranches) > 0 && !branchAllowed(env.PolicyBranches, v.Branch) {
		return PolicyVerdict{Reason: fmt.Sprintf("%s, but %s allows policy releases only from %s", reason, env.Name, strings.Join(env.PolicyBranches, ", "))}
	}
	return PolicyVerdict{Release: true, Reason: reason}
}

func (r *Recorder) environment(name string) *EnvironmentRules {
	for i := range r.Environments {
		if r.Environments[i].Name == name {
			return &r.Environments[i]
		}
	}
	return nil
}

// branchAllowed matches a branch against globs; "!" patterns exclude.
func branchAllowed(globs []string, branch string) bool {
	allowed := false
	for _, g := range globs {
		if neg, ok := strings.CutPrefix(g, "!"); ok {
			if m, _ := doublestar.Match(neg, branch); m {
				return false
			}
			continue
		}
		if m, _ := doublestar.Match(g, branch); m {
			allowed = true
		}
	}
	return allowed
}

// deployActions are the "Deploy to <env>" buttons (GitHub shows at most three).
func deployActions(a *artifact.Artifact, envs []string) []Action {
	var actions []Action
	for _, env := range envs {
		if len(actions) == maxActions {
			break
		}
		actions = append(actions, Action{
			Label:       text.Truncate("Deploy to "+env, maxActionLabel),
			Description: text.Truncate("Release "+text.Short(a.Version.SHA)+" to "+env, maxActionDesc),
			Identifier:  DeployActionID(env),
		})
	}
	return actions
}

// DeployActionID is the identifier of the "Deploy to <env>" button; env names too long
// for GitHub's 20 characters are cut, and the button handler matches by prefix.
func DeployActionID(env string) string {
	return text.Truncate("deploy:"+env, maxActionIdentifier)
}

func chartName(c artifact.Chart) string {
	s := c.Name
	if c.Version != "" {
		s += " " + c.Version
	}
	if c.Repository != "" {
		s += " (" + c.Repository + ")"
	}
	return s
}

func joinOr(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ", ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// escapeMarkdown keeps user text from breaking a table or opening markup.
func escapeMarkdown(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// Upload records an artifact built by CI as the check run "Auger: artifact upload" on
// its commit; Auger validates it and records "Auger: artifact" from it once CI passes.
func Upload(ctx context.Context, gh GitHub, a *artifact.Artifact) (CheckRun, error) {
	if err := a.Validate(); err != nil {
		return CheckRun{}, err
	}
	artifactJSON, problems := artifactText(a)
	if len(problems) > 0 {
		return CheckRun{}, &artifact.ValidationError{Problems: problems}
	}
	owner, name, _ := strings.Cut(a.Version.RepositoryName, "/")
	cr, err := gh.CreateCheckRun(ctx, RepoRef{Owner: owner, Name: name}, CheckRun{
		Name:       CheckArtifactUpload,
		HeadSHA:    a.Version.SHA,
		Status:     "completed",
		Conclusion: "neutral",
		ExternalID: a.ID,
		Title:      "Release artifact from CI",
		Summary:    "Uploaded by `auger artifact push`; Auger records it as `" + CheckArtifact + "` once CI passes.",
		Text:       artifactJSON,
	})
	if err != nil {
		return CheckRun{}, fmt.Errorf("upload artifact to %s@%s: %w", a.Version.RepositoryName, text.Short(a.Version.SHA), err)
	}
	return cr, nil
}
