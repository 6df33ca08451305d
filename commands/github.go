package commands

import (
	"context"
	"errors"
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

// CommitStatus is a commit status.
type CommitStatus struct {
	State       string // pending, success, failure, error
	Context     string
	Description string // at most 140 characters
	TargetURL   string
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

// GitHub is what the use cases need from GitHub, for one installation.
type GitHub interface {
	// CheckRuns lists every check run on a commit.
	CheckRuns(ctx context.Context, repo RepoRef, sha string) ([]CheckRun, error)
	CreateCheckRun(ctx context.Context, repo RepoRef, cr CheckRun) (CheckRun, error)
	// UpdateCheckRun updates cr.ID; annotations are added to those already there.
	UpdateCheckRun(ctx context.Context, repo RepoRef, cr CheckRun) (CheckRun, error)
	CreateStatus(ctx context.Context, repo RepoRef, sha string, s CommitStatus) error
	// ReadDir returns the regular files directly inside dir at sha, or ErrNotFound.
	ReadDir(ctx context.Context, repo RepoRef, sha, dir string) ([]RepoFile, error)
	Commit(ctx context.Context, repo RepoRef, sha string) (Commit, error)
}
