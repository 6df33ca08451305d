package commands

import (
	"context"
	"errors"
	"time"
)

// What the use cases need from GitHub, in Auger's own words: the one GitHub adapter
// (package githubapi) implements GitHub with go-github, and tests use the
// OpenAPI-checked fake through that same adapter. No go-github type crosses this line.

// RepoRef names a repository.
type RepoRef struct {
	Owner string
	Name  string
}

// FullName is owner/name.
func (r RepoRef) FullName() string { return r.Owner + "/" + r.Name }

// CheckRun is a check run on a commit, Auger's or anyone's.
type CheckRun struct {
	ID         int64
	Name       string
	HeadSHA    string
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, neutral, cancelled, skipped, timed_out, action_required, stale
	AppID      int64
	AppSlug    string
	ExternalID string
	DetailsURL string
	HTMLURL    string
	// StartedAt and CompletedAt are read back, never sent.
	StartedAt   time.Time
	CompletedAt time.Time
	// Output; Annotations are only sent, never read back.
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	Actions     []Action
}

// Annotation places a message on a line of a file in the Checks UI.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string // notice, warning, failure
	Title     string
	Message   string
}

// Action is a button on a check run ("Deploy to staging").
type Action struct {
	Label       string // at most 20 characters
	Description string // at most 40 characters
	Identifier  string // at most 20 characters
}

// RepoFile is one file read from a repository at a commit.
type RepoFile struct {
	Path    string
	Content []byte
}

// Commit is what GitHub says about a commit.
type Commit struct {
	SHA            string
	Message        string
	AuthorName     string
	AuthorEmail    string
	CommitterName  string
	CommitterEmail string
	HTMLURL        string
}

// ErrNotFound is returned by GitHub implementations when what was asked for does not
// exist (a missing .auger/ folder, say).
var ErrNotFound = errors.New("not found")

// ErrUnauthorized is returned by GitHub implementations when GitHub no longer accepts the
// credentials (a person's token revoked or expired): the one who holds them must sign in
// again; retrying cannot help.
var ErrUnauthorized = errors.New("GitHub does not accept the credentials")

// Checks reads and writes a commit's check runs: where artifacts are
// recorded and releases announced.
type Checks interface {
	// CheckRuns lists every check run on a commit.
	CheckRuns(ctx context.Context, repo RepoRef, sha string) ([]CheckRun, error)
	CreateCheckRun(ctx context.Context, repo RepoRef, cr CheckRun) (CheckRun, error)
	// UpdateCheckRun updates cr.ID; annotations are added to those already there.
	UpdateCheckRun(ctx context.Context, repo RepoRef, cr CheckRun) (CheckRun, error)
}

// Contents reads a repository's files and commits.
type Contents interface {
	// ReadDir returns the regular files directly inside dir at sha, or ErrNotFound.
	ReadDir(ctx context.Context, repo RepoRef, sha, dir string) ([]RepoFile, error)
	Commit(ctx context.Context, repo RepoRef, sha string) (Commit, error)
}

// GitHub is what recording an artifact needs from GitHub, for one installation.
type GitHub interface {
	Checks
	Contents
}

// Conversation is a pull request's thread: where commands are answered.
type Conversation interface {
	PullRequest(ctx context.Context, repo RepoRef, number int) (PullRequest, error)
	CreateComment(ctx context.Context, repo RepoRef, issue int, body string) (Comment, error)
	UpdateComment(ctx context.Context, repo RepoRef, id int64, body string) error
	// Comments lists a pull request's comments.
	Comments(ctx context.Context, repo RepoRef, issue int) ([]Comment, error)
	// React adds a reaction (eyes, rocket, confused, ...) to a comment.
	React(ctx context.Context, repo RepoRef, commentID int64, content string) error
}

// Deployments writes GitHub Deployments: the environments' history on GitHub.
type Deployments interface {
	CreateDeployment(ctx context.Context, repo RepoRef, d Deployment) (Deployment, error)
	// Deployments lists the Deployments of sha to env, newest first.
	Deployments(ctx context.Context, repo RepoRef, sha, env string) ([]Deployment, error)
	CreateDeploymentStatus(ctx context.Context, repo RepoRef, deploymentID int64, s DeploymentStatus) error
}

// PullRequest is what the release commands need of a pull request.
type PullRequest struct {
	Number  int
	Title   string
	State   string // open, closed
	HTMLURL string
	Author  string
	HeadSHA string
	HeadRef string
	BaseRef string
	// HeadRepo is the full name of the repository the head branch lives in; it differs
	// from the base repository for pull requests from forks.
	HeadRepo string
	Merged   bool
}

// Review is one pull request review.
type Review struct {
	User     string
	State    string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	CommitID string
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID      int64
	HTMLURL string
	Body    string
}

// Deployment is a GitHub Deployment of a commit to an environment.
type Deployment struct {
	ID                    int64
	Ref                   string
	Environment           string
	Description           string
	Payload               map[string]any
	ProductionEnvironment bool
}

// DeploymentStatus is one status of a Deployment.
type DeploymentStatus struct {
	State          string // in_progress, success, failure, error, inactive, queued, pending
	Description    string // at most 140 characters
	EnvironmentURL string
	LogURL         string
}

// PullRequestsGitHub is everything the release commands need from GitHub: the
// pipeline's steps each use a part (the rules RulesGitHub, announce Checks and
// Deployments, the answers Conversation).
type PullRequestsGitHub interface {
	GitHub
	RulesGitHub
	Conversation
	Deployments
}

// NewPullRequest asks for a pull request.
type NewPullRequest struct {
	Title string
	Head  string
	Base  string
	Body  string
}

// ErrNotMergeable is returned when GitHub will not merge a pull request (conflicts,
// branch protection, a moved head).
var ErrNotMergeable = errors.New("not mergeable")

// GitopsPullRequests is what the pull-request release mode needs from GitHub, on the
// gitops repository.
type GitopsPullRequests interface {
	CreatePullRequest(ctx context.Context, repo RepoRef, pr NewPullRequest) (PullRequest, error)
	// MergePullRequest merges number if its head is still sha, and returns the merge
	// commit; ErrNotMergeable when GitHub refuses.
	MergePullRequest(ctx context.Context, repo RepoRef, number int, sha, title string) (string, error)
}

// RolloutsGitHub is what live rollout status needs from GitHub besides PullRequestsGitHub.
type RolloutsGitHub interface {
	PullRequestsGitHub
	// ReadFile reads one file at sha, or returns ErrNotFound.
	ReadFile(ctx context.Context, repo RepoRef, sha, path string) ([]byte, error)
}

// ErrMaybeDone marks a failed request that GitHub may have carried out all the same (a
// 5xx or a timeout on a creation): look for its result before doing it again.
var ErrMaybeDone = errors.New("GitHub may have done it")
