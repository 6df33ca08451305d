package githubfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Repo is a repository of the fake. Its methods set it up and read its state back for
// assertions; they are safe to call while Auger talks to the fake.
type Repo struct {
	// ID is GitHub's repository id; Owner and Name its full name's parts.
	ID    int64
	Owner string
	Name  string

	f             *Fake
	defaultBranch string
	commits       map[string]*Commit
	branches      map[string]string     // branch → head sha
	tags          map[string]string     // tag → the commit it names
	tagObjects    map[string]*tagObject // annotated tag → its tag object
	checkRuns     []*CheckRun
	suites        map[string]int64 // sha + "\x00" + app slug → check suite id
	statuses      []*Status
	pulls         []*PullRequest
	reviews       map[int][]*Review
	comments      []*Comment
	reactions     map[int64][]reaction
	deployments   []*Deployment
	permissions   map[string]string
	nextNumber    int
	// git, when set, holds the repository's branches (see BackWithGit).
	git GitBackend
}

// GitBackend keeps a repository's branches in a real git repository (a test's git
// server, which the code under test pushes to): pull requests are opened on its
// branches and merged in it.
type GitBackend interface {
	// Head returns a branch's commit.
	Head(branch string) (sha string, ok bool)
	// IsAncestor tells whether commit a is an ancestor of (or equal to) b.
	IsAncestor(a, b string) bool
	// Merge merges head into the base branch with a merge commit and returns it; ok is
	// false when the merge conflicts.
	Merge(base, head, message string) (sha string, ok bool, err error)
}

// BackWithGit makes the repository's pull requests work on g's branches.
func (r *Repo) BackWithGit(g GitBackend) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.git = g
}

// Commit is one commit of a fake repository.
type Commit struct {
	// SHA is the commit id; AddCommit derives one from the content when empty.
	SHA string
	// Branch, when set, is moved to this commit.
	Branch      string
	Message     string
	AuthorName  string
	AuthorEmail string
	// AuthorLogin is the GitHub user the author's email belongs to; empty for none.
	AuthorLogin string
	// Parents default to the head of Branch, if it has one.
	Parents []string
	// Files is the full tree at this commit, path → content; nil means the first
	// parent's tree unchanged.
	Files map[string]string
	// Time defaults to now.
	Time time.Time
}

// CheckRun is a check run on a commit: one added by a test (a CI app's) or one Auger
// created through the API (AppSlug "auger").
type CheckRun struct {
	ID      int64
	HeadSHA string
	Name    string
	// Status is queued, in_progress or completed; AddCheckRun defaults it to completed
	// when Conclusion is set and to queued otherwise.
	Status     string
	Conclusion string
	// AppSlug is the App that owns the run; AddCheckRun defaults it to "ci".
	AppSlug      string
	DetailsURL   string
	ExternalID   string
	StartedAt    time.Time
	CompletedAt  time.Time
	Output       CheckRunOutput
	Actions      []CheckRunAction
	CheckSuiteID int64
}

// CheckRunOutput is a check run's output; Annotations accumulate across updates, as on
// GitHub.
type CheckRunOutput struct {
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// Annotation is one check run annotation.
type Annotation struct {
	Path            string
	StartLine       int
	EndLine         int
	StartColumn     int
	EndColumn       int
	AnnotationLevel string
	Message         string
	Title           string
	RawDetails      string
}

// CheckRunAction is one of a check run's requested-action buttons.
type CheckRunAction struct {
	Label       string
	Description string
	Identifier  string
}

// Status is a commit status.
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
	// Creator is the login that set it (Auger's is "auger[bot]").
	Creator   string
	CreatedAt time.Time
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID int64
	// Issue is the issue or pull request number.
	Issue     int
	Body      string
	User      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

type reaction struct {
	id      int64
	user    string
	content string
	created time.Time
}

// PullRequest is a pull request of a fake repository.
type PullRequest struct {
	// Number is assigned by AddPullRequest when zero.
	Number int
	Title  string
	Body   string
	// User is the author's login.
	User    string
	HeadRef string
	// HeadSHA defaults to the head of HeadRef.
	HeadSHA string
	// BaseRef defaults to the default branch.
	BaseRef string
	// Fork says the head lives in User's fork of the repository ("<User>/<Name>",
	// which pulls/get and pulls/list show as head.repo). Add its head commit with
	// AddCommit and no Branch: it is on no branch of this repository, yet reachable
	// through its API (GitHub keeps refs/pull/N/head), so repos/get-commit and
	// repos/compare-commits find it. As on GitHub, a fork pull request is left out
	// where GitHub only looks at this repository's branches:
	// repos/list-pull-requests-associated-with-commit does not list it for its commits
	// until it is merged, check runs' pull_requests never include it, and Retarget
	// gives its head's check payloads no pull request and a null head_branch.
	Fork bool
	// State is open or closed (default open).
	State          string
	Draft          bool
	Merged         bool
	MergeCommitSHA string
	MergedBy       string
	CreatedAt      time.Time
	MergedAt       time.Time
	ClosedAt       time.Time
}

// Review is a pull request review.
type Review struct {
	ID   int64
	User string
	// State is APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING.
	State string
	// CommitID defaults to the pull request's head.
	CommitID    string
	Body        string
	SubmittedAt time.Time
}

// Deployment is a GitHub Deployment and its statuses, oldest first.
type Deployment struct {
	ID                    int64
	Ref                   string
	SHA                   string
	Task                  string
	Environment           string
	Description           string
	Payload               any
	Creator               string
	ProductionEnvironment bool
	TransientEnvironment  bool
	CreatedAt             time.Time
	Statuses              []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	Description    string
	Environment    string
	EnvironmentURL string
	LogURL         string
	TargetURL      string
	Creator        string
	CreatedAt      time.Time
}

// AddRepo creates a private repository with default branch main and no commits. Its
// owner's installation (AddInstallation) gives access to it.
func (f *Fake) AddRepo(owner, name string) *Repo {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &Repo{
		ID:            f.newID(),
		Owner:         owner,
		Name:          name,
		f:             f,
		defaultBranch: "main",
		commits:       map[string]*Commit{},
		branches:      map[string]string{},
		tags:          map[string]string{},
		tagObjects:    map[string]*tagObject{},
		suites:        map[string]int64{},
		reviews:       map[int][]*Review{},
		reactions:     map[int64][]reaction{},
		permissions:   map[string]string{},
	}
	f.repos[strings.ToLower(owner+"/"+name)] = r
	return r
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// InstallationID is the installation covering the repository's owner, or 0.
func (r *Repo) InstallationID() int64 {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.f.installationFor(r.Owner)
}

// SetDefaultBranch changes the default branch (main by default).
func (r *Repo) SetDefaultBranch(branch string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.defaultBranch = branch
}

// AddCommit adds a commit, moves c.Branch to it and returns its SHA.
func (r *Repo) AddCommit(c Commit) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.addCommit(c)
}

func (r *Repo) addCommit(c Commit) string {
	if c.Parents == nil && c.Branch != "" {
		if head, ok := r.branches[c.Branch]; ok {
			c.Parents = []string{head}
		}
	}
	c.Parents = slices.Clone(c.Parents)
	if c.Files == nil {
		c.Files = map[string]string{}
		if len(c.Parents) > 0 {
			if p := r.commits[c.Parents[0]]; p != nil {
				c.Files = maps.Clone(p.Files)
			}
		}
	} else {
		c.Files = maps.Clone(c.Files)
	}
	if c.Time.IsZero() {
		c.Time = now()
	}
	if c.SHA == "" {
		c.SHA = commitSHA(c)
	}
	r.commits[c.SHA] = &c
	if c.Branch != "" {
		r.moveBranch(c.Branch, c.SHA)
	}
	return c.SHA
}

// commitSHA derives a stable commit id from a commit's content.
func commitSHA(c Commit) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00", c.Message, c.AuthorName, c.AuthorEmail, strings.Join(c.Parents, ","), c.Time.UnixNano())
	for _, p := range slices.Sorted(maps.Keys(c.Files)) {
		fmt.Fprintf(h, "%s\x00%s\x00", p, c.Files[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// blobSHA is git's object id of a file's content.
func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

// SetBranch points a branch at a commit.
func (r *Repo) SetBranch(branch, sha string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.moveBranch(branch, sha)
}

// moveBranch points a branch at a commit; open pull requests from that branch follow
// it, as on GitHub (the "synchronize" of a push). Callers hold the lock.
func (r *Repo) moveBranch(branch, sha string) {
	r.branches[branch] = sha
	for _, pr := range r.pulls {
		if pr.HeadRef == branch && !pr.Fork && pr.State != "closed" {
			pr.HeadSHA = sha
		}
	}
}

// DeleteBranch removes a branch.
func (r *Repo) DeleteBranch(branch string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	delete(r.branches, branch)
}

// AddTag creates a lightweight tag: refs/tags/<tag> points at the commit.
func (r *Repo) AddTag(tag, sha string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.tags[tag] = sha
	delete(r.tagObjects, tag)
}

// tagObject is an annotated tag's object: refs/tags/<tag> points at it, and it at the
// commit.
type tagObject struct {
	SHA, Tag, Message, Commit string
	Tagger                    string
	Time                      time.Time
}

// AddAnnotatedTag creates an annotated tag (git tag -a): refs/tags/<tag> points at a tag
// object, which git/get-tag reads and which names the commit. It returns the tag
// object's sha.
func (r *Repo) AddAnnotatedTag(tag, sha, message string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	obj := &tagObject{Tag: tag, Message: message, Commit: sha, Tagger: "Jane Doe", Time: now()}
	h := sha1.New()
	fmt.Fprintf(h, "tag\x00%s\x00%s\x00%s\x00%d", tag, sha, message, obj.Time.UnixNano())
	obj.SHA = hex.EncodeToString(h.Sum(nil))
	r.tags[tag] = sha
	r.tagObjects[tag] = obj
	return obj.SHA
}

// Head returns the commit a branch points at, or "".
func (r *Repo) Head(branch string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.branches[branch]
}

// Files returns the tree of a commit-ish (sha, branch or tag), or nil.
func (r *Repo) Files(ref string) map[string]string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if c := r.commit(ref); c != nil {
		return maps.Clone(c.Files)
	}
	return nil
}

// commit resolves a commit-ish: a branch, a tag (with or without refs/heads/ or
// refs/tags/), a full sha or an unambiguous sha prefix of seven or more characters.
func (r *Repo) commit(ref string) *Commit {
	if ref == "" {
		return nil
	}
	if sha, ok := r.branches[strings.TrimPrefix(ref, "refs/heads/")]; ok {
		return r.commits[sha]
	}
	if sha, ok := r.tags[strings.TrimPrefix(ref, "refs/tags/")]; ok {
		return r.commits[sha]
	}
	if c, ok := r.commits[ref]; ok {
		return c
	}
	if len(ref) < 7 {
		return nil
	}
	var found *Commit
	for sha, c := range r.commits {
		if strings.HasPrefix(sha, ref) {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}

// isAncestor reports whether ancestor is reachable from sha through parents.
func (r *Repo) isAncestor(ancestor, sha string) bool {
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == ancestor {
			return true
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		if c := r.commits[s]; c != nil {
			queue = append(queue, c.Parents...)
		}
	}
	return false
}

// mergeBase returns the nearest common ancestor of a and b, or "".
func (r *Repo) mergeBase(a, b string) string {
	queue := []string{b}
	seen := map[string]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		if r.isAncestor(s, a) {
			return s
		}
		if c := r.commits[s]; c != nil {
			queue = append(queue, c.Parents...)
		}
	}
	return ""
}

// SetPermission sets a user's collaborator permission: admin, maintain, write, triage,
// read or none.
func (r *Repo) SetPermission(login, permission string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.permissions[strings.ToLower(login)] = permission
}

// AddTeamMember makes login a member of org's team (role member or maintainer).
func (f *Fake) AddTeamMember(org, team, login, role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(org + "/" + team)
	if f.teams[key] == nil {
		f.teams[key] = map[string]string{}
	}
	f.teams[key][strings.ToLower(login)] = role
}

// AddCheckRun adds a check run as another App (CI) would create it and returns its id.
func (r *Repo) AddCheckRun(sha string, cr CheckRun) int64 {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	cr.HeadSHA = sha
	if cr.AppSlug == "" {
		cr.AppSlug = "ci"
	}
	if cr.Status == "" {
		cr.Status = "queued"
		if cr.Conclusion != "" {
			cr.Status = "completed"
		}
	}
	if cr.StartedAt.IsZero() {
		cr.StartedAt = now()
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now()
	}
	return r.addCheckRun(&cr)
}

func (r *Repo) addCheckRun(cr *CheckRun) int64 {
	cr.ID = r.f.newID()
	r.f.appIDFor(cr.AppSlug)
	key := cr.HeadSHA + "\x00" + cr.AppSlug
	if r.suites[key] == 0 {
		r.suites[key] = r.f.newID()
	}
	cr.CheckSuiteID = r.suites[key]
	r.checkRuns = append(r.checkRuns, cr)
	return cr.ID
}

// CheckRuns returns the check runs on a commit, oldest first, with their output,
// actions and accumulated annotations.
func (r *Repo) CheckRuns(sha string) []CheckRun {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []CheckRun
	for _, cr := range r.checkRuns {
		if cr.HeadSHA == sha {
			out = append(out, cloneCheckRun(cr))
		}
	}
	return out
}

func cloneCheckRun(cr *CheckRun) CheckRun {
	c := *cr
	c.Actions = slices.Clone(cr.Actions)
	c.Output.Annotations = slices.Clone(cr.Output.Annotations)
	return c
}

// AddStatus sets a commit status as CI would (Creator defaults to "ci-bot") and returns
// its id.
func (r *Repo) AddStatus(sha string, s Status) int64 {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	s.SHA = sha
	if s.Creator == "" {
		s.Creator = "ci-bot"
	}
	if s.Context == "" {
		s.Context = "default"
	}
	s.ID = r.f.newID()
	s.CreatedAt = now()
	r.statuses = append(r.statuses, &s)
	return s.ID
}

// Statuses returns the commit statuses of a commit, oldest first.
func (r *Repo) Statuses(sha string) []Status {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []Status
	for _, s := range r.statuses {
		if s.SHA == sha {
			out = append(out, *s)
		}
	}
	return out
}

// AddPullRequest adds a pull request (see PullRequest for defaults) and returns its
// number.
func (r *Repo) AddPullRequest(pr PullRequest) int {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if pr.BaseRef == "" {
		pr.BaseRef = r.defaultBranch
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = r.branches[pr.HeadRef]
	}
	if pr.State == "" {
		pr.State = "open"
		if pr.Merged {
			pr.State = "closed"
		}
	}
	if pr.User == "" {
		pr.User = "octocat"
	}
	if pr.Title == "" {
		pr.Title = "Pull request from " + pr.HeadRef
	}
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = now()
	}
	return r.addPull(&pr)
}

func (r *Repo) addPull(pr *PullRequest) int {
	if pr.Number == 0 {
		r.nextNumber++
		pr.Number = r.nextNumber
	}
	r.nextNumber = max(r.nextNumber, pr.Number)
	r.pulls = append(r.pulls, pr)
	return pr.Number
}

// PullRequest returns a pull request by number.
func (r *Repo) PullRequest(number int) (PullRequest, bool) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if pr := r.pull(number); pr != nil {
		return *pr, true
	}
	return PullRequest{}, false
}

// PullRequests returns all pull requests, in number order.
func (r *Repo) PullRequests() []PullRequest {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	out := make([]PullRequest, 0, len(r.pulls))
	for _, pr := range r.pulls {
		out = append(out, *pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func (r *Repo) pull(number int) *PullRequest {
	for _, pr := range r.pulls {
		if pr.Number == number {
			return pr
		}
	}
	return nil
}

// AddReview adds a review to a pull request and returns its id.
func (r *Repo) AddReview(number int, rv Review) int64 {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if rv.CommitID == "" {
		if pr := r.pull(number); pr != nil {
			rv.CommitID = pr.HeadSHA
		}
	}
	if rv.State == "" {
		rv.State = "APPROVED"
	}
	if rv.SubmittedAt.IsZero() {
		rv.SubmittedAt = now()
	}
	rv.ID = r.f.newID()
	r.reviews[number] = append(r.reviews[number], &rv)
	return rv.ID
}

// AddComment adds a comment by login on an issue or pull request and returns its id,
// e.g. the /deploy comment an issue_comment webhook then refers to.
func (r *Repo) AddComment(issue int, login, body string) int64 {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.addComment(issue, login, body)
}

func (r *Repo) addComment(issue int, login, body string) int64 {
	t := now()
	c := &Comment{ID: r.f.newID(), Issue: issue, Body: body, User: login, CreatedAt: t, UpdatedAt: t}
	r.comments = append(r.comments, c)
	return c.ID
}

// Comments returns the comments on an issue or pull request, oldest first.
func (r *Repo) Comments(issue int) []Comment {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []Comment
	for _, c := range r.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

func (r *Repo) comment(id int64) *Comment {
	for _, c := range r.comments {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Reactions returns the contents ("+1", "eyes", ...) of the reactions on a comment,
// oldest first.
func (r *Repo) Reactions(commentID int64) []string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []string
	for _, re := range r.reactions[commentID] {
		out = append(out, re.content)
	}
	return out
}

// Deployments returns the repository's deployments with their statuses, oldest first.
func (r *Repo) Deployments() []Deployment {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	out := make([]Deployment, 0, len(r.deployments))
	for _, d := range r.deployments {
		c := *d
		c.Statuses = slices.Clone(d.Statuses)
		out = append(out, c)
	}
	return out
}
