// Package githubapi is Auger's one GitHub adapter: it implements the GitHub interface of
// package commands with go-github, so that go-github's types stay here and in the
// webhook handlers, and a major upgrade of go-github touches this package alone.
package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/google/go-github/v50/github"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/auger-dev/auger/commands"
)

// Limits on what ReadDir reads, so a repository cannot make Auger read without end.
const (
	maxDirFiles = 50
	maxFileSize = 1 << 20
)

// Client implements commands.GitHub for one installation (or one token).
type Client struct {
	gh    *github.Client
	blobs *Blobs
}

var _ commands.GitHub = (*Client)(nil)

// New wraps an authenticated go-github client.
func New(gh *github.Client) *Client { return &Client{gh: gh} }

// WithBlobs makes ReadDir read each file it has read before from blobs instead of
// GitHub; the clients of every installation may share one.
func (c *Client) WithBlobs(blobs *Blobs) *Client {
	c.blobs = blobs
	return c
}

// Blobs remembers small files ReadDir read, by repository and git blob sha: a blob sha
// names its content, so a file listed with a sha seen before is not read again. Env
// configs change rarely, and recording a commit's artifact then costs no request per
// file. The repository is part of the key, so a repository only ever gets content it
// listed itself.
type Blobs struct{ files *lru.Cache[string, []byte] }

// maxBlobSize is the largest file Blobs keeps: env configs are a few kilobytes.
const maxBlobSize = 64 << 10

// NewBlobs keeps at most n files (at most n × 64 KiB).
func NewBlobs(n int) *Blobs {
	files, _ := lru.New[string, []byte](max(n, 1)) // fails only for a size below 1
	return &Blobs{files: files}
}

func (b *Blobs) get(repo commands.RepoRef, sha string) ([]byte, bool) {
	if b == nil || sha == "" {
		return nil, false
	}
	return b.files.Get(strings.ToLower(repo.FullName()) + "@" + sha)
}

func (b *Blobs) add(repo commands.RepoRef, sha string, data []byte) {
	if b == nil || sha == "" || len(data) > maxBlobSize {
		return
	}
	b.files.Add(strings.ToLower(repo.FullName())+"@"+sha, data)
}

// NewTokenClient is a client authenticated with a token, against the REST base URL
// apiURL (empty for GitHub.com): what `auger artifact push` uses from CI.
func NewTokenClient(apiURL, token string, httpClient *http.Client) (*Client, error) {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	transport := httpClient.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	authed := *httpClient
	authed.Transport = tokenTransport{token: token, base: transport}
	gh := github.NewClient(&authed)
	if apiURL != "" {
		u, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
		}
		gh.BaseURL = u
	}
	return New(gh), nil
}

type tokenTransport struct {
	token string
	base  http.RoundTripper
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}

// wrap turns GitHub's errors into messages that name the request, 404s into
// commands.ErrNotFound and 401s into commands.ErrUnauthorized.
func wrap(err error, what string) error {
	var ger *github.ErrorResponse
	if errors.As(err, &ger) && ger.Response != nil {
		if ger.Response.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: %w", what, commands.ErrNotFound)
		}
		if ger.Response.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%s: GitHub answered 401: %s: %w", what, ger.Message, commands.ErrUnauthorized)
		}
		if ger.Response.StatusCode >= 500 {
			return fmt.Errorf("%s: GitHub answered %d: %s: %w", what, ger.Response.StatusCode, ger.Message, commands.ErrMaybeDone)
		}
		detail := ger.Message
		for _, e := range ger.Errors {
			detail += "; " + strings.TrimSpace(e.Field+" "+e.Code+" "+e.Message)
		}
		return fmt.Errorf("%s: GitHub answered %d: %s", what, ger.Response.StatusCode, detail)
	}
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &rate) || errors.As(err, &abuse) {
		return fmt.Errorf("%s: %w", what, err)
	}
	// No answer (a timeout, a dropped connection): it may have been done.
	return fmt.Errorf("%s: %w: %w", what, err, commands.ErrMaybeDone)
}

// CheckRuns lists every check run on a commit. Not only the latest of each name:
// several releases of one commit each have their own "Auger: deploy <env>" run, and
// callers pick the newest of a name themselves where that is what they want.
func (c *Client) CheckRuns(ctx context.Context, repo commands.RepoRef, sha string) ([]commands.CheckRun, error) {
	opts := &github.ListCheckRunsOptions{Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	var out []commands.CheckRun
	for {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, sha, opts)
		if err != nil {
			return nil, wrap(err, "list check runs")
		}
		for _, cr := range res.CheckRuns {
			out = append(out, fromCheckRun(cr))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func fromCheckRun(cr *github.CheckRun) commands.CheckRun {
	out := commands.CheckRun{
		ID:          cr.GetID(),
		Name:        cr.GetName(),
		HeadSHA:     cr.GetHeadSHA(),
		Status:      cr.GetStatus(),
		Conclusion:  cr.GetConclusion(),
		AppID:       cr.GetApp().GetID(),
		AppSlug:     cr.GetApp().GetSlug(),
		ExternalID:  cr.GetExternalID(),
		DetailsURL:  cr.GetDetailsURL(),
		HTMLURL:     cr.GetHTMLURL(),
		StartedAt:   cr.GetStartedAt().Time,
		CompletedAt: cr.GetCompletedAt().Time,
	}
	if o := cr.GetOutput(); o != nil {
		out.Title, out.Summary, out.Text = o.GetTitle(), o.GetSummary(), o.GetText()
	}
	return out
}

func output(cr commands.CheckRun) *github.CheckRunOutput {
	if cr.Title == "" && cr.Summary == "" && cr.Text == "" && len(cr.Annotations) == 0 {
		return nil
	}
	o := &github.CheckRunOutput{Title: github.String(cr.Title), Summary: github.String(cr.Summary)}
	if cr.Text != "" {
		o.Text = github.String(cr.Text)
	}
	for _, a := range cr.Annotations {
		o.Annotations = append(o.Annotations, &github.CheckRunAnnotation{
			Path:            github.String(a.Path),
			StartLine:       github.Int(a.StartLine),
			EndLine:         github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level),
			Title:           github.String(a.Title),
			Message:         github.String(a.Message),
		})
	}
	return o
}

func actions(cr commands.CheckRun) []*github.CheckRunAction {
	var out []*github.CheckRunAction
	for _, a := range cr.Actions {
		out = append(out, &github.CheckRunAction{Label: a.Label, Description: a.Description, Identifier: a.Identifier})
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return github.String(s)
}

// CreateCheckRun creates a check run; a completed one gets its completion time now.
func (c *Client) CreateCheckRun(ctx context.Context, repo commands.RepoRef, cr commands.CheckRun) (commands.CheckRun, error) {
	opts := github.CreateCheckRunOptions{
		Name:       cr.Name,
		HeadSHA:    cr.HeadSHA,
		DetailsURL: optional(cr.DetailsURL),
		ExternalID: optional(cr.ExternalID),
		Status:     optional(cr.Status),
		Conclusion: optional(cr.Conclusion),
		Output:     output(cr),
		Actions:    actions(cr),
	}
	if cr.Status == "completed" {
		opts.CompletedAt = &github.Timestamp{Time: time.Now()}
	}
	res, _, err := c.gh.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, opts)
	if err != nil {
		return commands.CheckRun{}, wrap(err, "create check run "+cr.Name)
	}
	return fromCheckRun(res), nil
}

// UpdateCheckRun updates a check run; its annotations are added to those it has.
func (c *Client) UpdateCheckRun(ctx context.Context, repo commands.RepoRef, cr commands.CheckRun) (commands.CheckRun, error) {
	opts := github.UpdateCheckRunOptions{
		Name:       cr.Name,
		DetailsURL: optional(cr.DetailsURL),
		ExternalID: optional(cr.ExternalID),
		Status:     optional(cr.Status),
		Conclusion: optional(cr.Conclusion),
		Output:     output(cr),
		Actions:    actions(cr),
	}
	if cr.Status == "completed" {
		opts.CompletedAt = &github.Timestamp{Time: time.Now()}
	}
	res, _, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, cr.ID, opts)
	if err != nil {
		return commands.CheckRun{}, wrap(err, "update check run "+cr.Name)
	}
	return fromCheckRun(res), nil
}

// ReadDir reads the regular files directly inside dir at sha (at most 50, each at most
// 1 MiB), or returns commands.ErrNotFound when dir does not exist.
func (c *Client) ReadDir(ctx context.Context, repo commands.RepoRef, sha, dir string) ([]commands.RepoFile, error) {
	ref := &github.RepositoryContentGetOptions{Ref: sha}
	_, entries, _, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, dir, ref)
	if err != nil {
		return nil, wrap(err, "read "+dir+"/")
	}
	var files []commands.RepoFile
	for _, e := range entries {
		if e.GetType() != "file" {
			continue
		}
		if len(files) == maxDirFiles {
			return nil, fmt.Errorf("read %s/: more than %d files", dir, maxDirFiles)
		}
		p := path.Join(dir, e.GetName())
		if e.GetSize() > maxFileSize {
			return nil, fmt.Errorf("read %s: larger than %d bytes", p, maxFileSize)
		}
		if data, ok := c.blobs.get(repo, e.GetSHA()); ok {
			files = append(files, commands.RepoFile{Path: p, Content: data})
			continue
		}
		f, _, _, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, p, ref)
		if err != nil {
			return nil, wrap(err, "read "+p)
		}
		if f == nil {
			continue
		}
		data, err := decodeContent(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		// The sha of the file read, not of the listing: the two agree unless the
		// directory changed between them, and then the content is the file's own.
		c.blobs.add(repo, f.GetSHA(), data)
		files = append(files, commands.RepoFile{Path: p, Content: data})
	}
	return files, nil
}

// decodeContent decodes a file's content (go-github handles GitHub's base64).
func decodeContent(f *github.RepositoryContent) ([]byte, error) {
	s, err := f.GetContent()
	return []byte(s), err
}

// Commit reads a commit's message, author and committer.
func (c *Client) Commit(ctx context.Context, repo commands.RepoRef, sha string) (commands.Commit, error) {
	rc, _, err := c.gh.Repositories.GetCommit(ctx, repo.Owner, repo.Name, sha, nil)
	if err != nil {
		return commands.Commit{}, wrap(err, "read commit")
	}
	return commitOf(rc), nil
}

func commitOf(rc *github.RepositoryCommit) commands.Commit {
	gc := rc.GetCommit()
	return commands.Commit{
		SHA:            rc.GetSHA(),
		Message:        gc.GetMessage(),
		AuthorName:     gc.GetAuthor().GetName(),
		AuthorEmail:    gc.GetAuthor().GetEmail(),
		CommitterName:  gc.GetCommitter().GetName(),
		CommitterEmail: gc.GetCommitter().GetEmail(),
		HTMLURL:        rc.GetHTMLURL(),
	}
}

var _ commands.PullRequestsGitHub = (*Client)(nil)

// Permission is login's role on repo (maintain and triage included, unlike the legacy
// permission field).
func (c *Client) Permission(ctx context.Context, repo commands.RepoRef, login string) (string, error) {
	p, _, err := c.gh.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, login)
	if err != nil {
		var ger *github.ErrorResponse
		if errors.As(err, &ger) && ger.Response != nil && ger.Response.StatusCode == http.StatusNotFound {
			return "none", nil
		}
		return "", wrap(err, "read permission of "+login)
	}
	if role := p.GetUser().GetRoleName(); role != "" {
		return role, nil
	}
	return p.GetPermission(), nil
}

// TeamMember tells whether login is an active member of org/team.
func (c *Client) TeamMember(ctx context.Context, org, team, login string) (bool, error) {
	m, _, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, login)
	if err != nil {
		if errors.Is(wrap(err, ""), commands.ErrNotFound) {
			return false, nil
		}
		return false, wrap(err, "read membership of "+login+" in "+org+"/"+team)
	}
	return m.GetState() == "active", nil
}

// PullRequest reads a pull request.
func (c *Client) PullRequest(ctx context.Context, repo commands.RepoRef, number int) (commands.PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return commands.PullRequest{}, wrap(err, fmt.Sprintf("read pull request #%d", number))
	}
	return pullRequest(pr), nil
}

func pullRequest(pr *github.PullRequest) commands.PullRequest {
	return commands.PullRequest{
		Number:   pr.GetNumber(),
		Title:    pr.GetTitle(),
		State:    pr.GetState(),
		HTMLURL:  pr.GetHTMLURL(),
		Author:   pr.GetUser().GetLogin(),
		HeadSHA:  pr.GetHead().GetSHA(),
		HeadRef:  pr.GetHead().GetRef(),
		BaseRef:  pr.GetBase().GetRef(),
		HeadRepo: pr.GetHead().GetRepo().GetFullName(),
		Merged:   pr.GetMerged(),
	}
}

// Limits of PullRequestsWithHead: pages of open pull requests read, and their size.
const (
	maxOpenPullPages = 3
	openPullsPerPage = 100
)

// ContainsCommit tells whether ref (a branch or tag of repo) contains sha: GitHub's
// compare of ref...sha says identical or behind. A ref or commit GitHub does not know
// is false, not an error.
func (c *Client) ContainsCommit(ctx context.Context, repo commands.RepoRef, ref, sha string) (bool, error) {
	if !plainRef(ref) || !hexSHA(sha) {
		// Not a name a branch or tag can have, or not a commit id: nothing of repo. In
		// particular GitHub reads "owner:branch" as a branch of another repository of
		// the network, a fork's, which must never prove a commit to be repo's own.
		return false, nil
	}
	// One commit per page: only the status is wanted, not the commits between.
	cmp, _, err := c.gh.Repositories.CompareCommits(ctx, repo.Owner, repo.Name, ref, sha, &github.ListOptions{PerPage: 1})
	if err != nil {
		err = wrap(err, fmt.Sprintf("compare %s...%s", ref, sha))
		if errors.Is(err, commands.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	switch cmp.GetStatus() {
	case "identical", "behind":
		return true, nil
	}
	return false, nil
}

// plainRef tells whether ref can be a branch or tag name as far as GitHub's compare
// syntax goes: git forbids ".." and ":" in ref names, which compare would read as a
// range or as another repository's branch.
func plainRef(ref string) bool {
	return ref != "" && !strings.Contains(ref, "..") && !strings.Contains(ref, ":")
}

// hexSHA tells whether sha is a (possibly abbreviated) commit id.
func hexSHA(sha string) bool {
	if len(sha) < 7 || len(sha) > 64 {
		return false
	}
	for _, r := range sha {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// PullRequestsWithHead lists the open pull requests of repo whose head commit is sha,
// from forks too (pulls/list state=open, 100 per page, at most 3 pages), newest first.
// The head repository of a fork that was deleted is "".
func (c *Client) PullRequestsWithHead(ctx context.Context, repo commands.RepoRef, sha string) ([]commands.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Sort: "created", Direction: "desc", ListOptions: github.ListOptions{PerPage: openPullsPerPage}}
	var out []commands.PullRequest
	for page := 0; page < maxOpenPullPages; page++ {
		prs, resp, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		if err != nil {
			return nil, wrap(err, "list open pull requests of "+repo.FullName())
		}
		for _, pr := range prs {
			if pr.GetHead().GetSHA() == sha {
				out = append(out, pullRequest(pr))
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// Reviews lists a pull request's reviews.
func (c *Client) Reviews(ctx context.Context, repo commands.RepoRef, number int) ([]commands.Review, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []commands.Review
	for {
		rs, resp, err := c.gh.PullRequests.ListReviews(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("list reviews of #%d", number))
		}
		for _, r := range rs {
			out = append(out, commands.Review{User: r.GetUser().GetLogin(), State: r.GetState(), CommitID: r.GetCommitID()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateComment comments on an issue or pull request.
func (c *Client) CreateComment(ctx context.Context, repo commands.RepoRef, issue int, body string) (commands.Comment, error) {
	// A comment is what a person reads: it goes before check runs and Deployments.
	ctx = WithPriority(ctx, PriorityReply)
	cm, _, err := c.gh.Issues.CreateComment(ctx, repo.Owner, repo.Name, issue, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return commands.Comment{}, wrap(err, fmt.Sprintf("comment on #%d", issue))
	}
	return commands.Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL(), Body: cm.GetBody()}, nil
}

// UpdateComment replaces a comment's body.
func (c *Client) UpdateComment(ctx context.Context, repo commands.RepoRef, id int64, body string) error {
	_, _, err := c.gh.Issues.EditComment(ctx, repo.Owner, repo.Name, id, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return wrap(err, fmt.Sprintf("edit comment %d", id))
	}
	return nil
}

// React adds a reaction to a comment: the acknowledgement of a command, which goes
// before any other creating request of the installation.
func (c *Client) React(ctx context.Context, repo commands.RepoRef, commentID int64, content string) error {
	ctx = WithPriority(ctx, PriorityAcknowledge)
	_, _, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, commentID, content)
	if err != nil {
		return wrap(err, "react "+content)
	}
	return nil
}

// CreateDeployment creates a Deployment. Auger's own in-progress deploy check must not
// block it, so it requires no contexts and never merges the default branch in.
func (c *Client) CreateDeployment(ctx context.Context, repo commands.RepoRef, d commands.Deployment) (commands.Deployment, error) {
	req := &github.DeploymentRequest{
		Ref:                   github.String(d.Ref),
		Environment:           github.String(d.Environment),
		Description:           optional(d.Description),
		AutoMerge:             github.Bool(false),
		RequiredContexts:      &[]string{},
		ProductionEnvironment: github.Bool(d.ProductionEnvironment),
	}
	if d.Payload != nil {
		req.Payload = d.Payload
	}
	dep, _, err := c.gh.Repositories.CreateDeployment(ctx, repo.Owner, repo.Name, req)
	if err != nil {
		return commands.Deployment{}, wrap(err, "create deployment to "+d.Environment)
	}
	d.ID = dep.GetID()
	return d, nil
}

// CreateDeploymentStatus adds a status to a Deployment.
func (c *Client) CreateDeploymentStatus(ctx context.Context, repo commands.RepoRef, deploymentID int64, s commands.DeploymentStatus) error {
	_, _, err := c.gh.Repositories.CreateDeploymentStatus(ctx, repo.Owner, repo.Name, deploymentID, &github.DeploymentStatusRequest{
		State:          github.String(s.State),
		Description:    optional(s.Description),
		EnvironmentURL: optional(s.EnvironmentURL),
		LogURL:         optional(s.LogURL),
	})
	if err != nil {
		return wrap(err, "create deployment status "+s.State)
	}
	return nil
}

// RepoInstallation finds the installation of the App on a repository; app is a client
// authenticated as the App itself.
func RepoInstallation(ctx context.Context, app *github.Client, repo commands.RepoRef) (int64, error) {
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, repo.Owner, repo.Name)
	if err != nil {
		return 0, wrap(err, "find the installation on "+repo.FullName()+" (install the App there)")
	}
	return inst.GetID(), nil
}

var _ commands.GitopsPullRequests = (*Client)(nil)

// CreatePullRequest opens a pull request.
func (c *Client) CreatePullRequest(ctx context.Context, repo commands.RepoRef, p commands.NewPullRequest) (commands.PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Create(ctx, repo.Owner, repo.Name, &github.NewPullRequest{
		Title: github.String(p.Title), Head: github.String(p.Head), Base: github.String(p.Base), Body: github.String(p.Body),
	})
	if err != nil {
		return commands.PullRequest{}, wrap(err, "open a pull request on "+repo.FullName())
	}
	return pullRequest(pr), nil
}

// MergePullRequest merges a pull request with a merge commit if its head is still sha.
func (c *Client) MergePullRequest(ctx context.Context, repo commands.RepoRef, number int, sha, title string) (string, error) {
	res, _, err := c.gh.PullRequests.Merge(ctx, repo.Owner, repo.Name, number, "", &github.PullRequestOptions{CommitTitle: title, SHA: sha, MergeMethod: "merge"})
	if err != nil {
		var ger *github.ErrorResponse
		if errors.As(err, &ger) && ger.Response != nil && (ger.Response.StatusCode == http.StatusMethodNotAllowed || ger.Response.StatusCode == http.StatusConflict) {
			return "", fmt.Errorf("merge #%d on %s: %s: %w", number, repo.FullName(), ger.Message, commands.ErrNotMergeable)
		}
		return "", wrap(err, fmt.Sprintf("merge #%d on %s", number, repo.FullName()))
	}
	return res.GetSHA(), nil
}

var _ commands.RolloutsGitHub = (*Client)(nil)

// Deployments lists the Deployments of sha to env, newest first.
func (c *Client) Deployments(ctx context.Context, repo commands.RepoRef, sha, env string) ([]commands.Deployment, error) {
	deps, _, err := c.gh.Repositories.ListDeployments(ctx, repo.Owner, repo.Name, &github.DeploymentsListOptions{SHA: sha, Environment: env, ListOptions: github.ListOptions{PerPage: 30}})
	if err != nil {
		return nil, wrap(err, "list deployments to "+env)
	}
	out := make([]commands.Deployment, 0, len(deps))
	for _, d := range deps {
		var payload map[string]any
		_ = json.Unmarshal(d.Payload, &payload)
		out = append(out, commands.Deployment{ID: d.GetID(), Ref: d.GetRef(), Environment: d.GetEnvironment(), Description: d.GetDescription(), Payload: payload})
	}
	return out, nil
}

// Comments lists a pull request's comments (the first 100 pages of 100 at most).
func (c *Client) Comments(ctx context.Context, repo commands.RepoRef, issue int) ([]commands.Comment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []commands.Comment
	for page := 0; page < 100; page++ {
		cs, resp, err := c.gh.Issues.ListComments(ctx, repo.Owner, repo.Name, issue, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("list comments of #%d", issue))
		}
		for _, cm := range cs {
			out = append(out, commands.Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL(), Body: cm.GetBody()})
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// ReadFile reads one file at sha.
func (c *Client) ReadFile(ctx context.Context, repo commands.RepoRef, sha, path string) ([]byte, error) {
	f, _, _, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		return nil, wrap(err, "read "+path)
	}
	if f == nil {
		return nil, fmt.Errorf("read %s: a directory: %w", path, commands.ErrNotFound)
	}
	return decodeContent(f)
}

var _ commands.BranchChecker = (*Client)(nil)

// BranchExists tells whether a branch exists.
func (c *Client) BranchExists(ctx context.Context, repo commands.RepoRef, branch string) (bool, error) {
	_, _, err := c.gh.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+branch)
	if err == nil {
		return true, nil
	}
	err = wrap(err, "read branch "+branch)
	if errors.Is(err, commands.ErrNotFound) {
		return false, nil
	}
	return false, err
}

// Delivery is one webhook delivery GitHub made to the App.
type Delivery struct {
	ID          int64
	GUID        string
	Event       string
	Action      string
	DeliveredAt time.Time
	StatusCode  int
	Redelivery  bool
}

// RecentDeliveries lists the App's webhook deliveries made since since, newest first;
// app is a client authenticated as the App itself.
func RecentDeliveries(ctx context.Context, app *github.Client, since time.Time) ([]Delivery, error) {
	opts := &github.ListCursorOptions{PerPage: 100}
	var out []Delivery
	for page := 0; page < 100; page++ {
		ds, resp, err := app.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return out, wrap(err, "list webhook deliveries")
		}
		for _, d := range ds {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				return out, nil
			}
			out = append(out, Delivery{ID: d.GetID(), GUID: d.GetGUID(), Event: d.GetEvent(), Action: d.GetAction(),
				DeliveredAt: at, StatusCode: d.GetStatusCode(), Redelivery: d.GetRedelivery()})
		}
		if resp.Cursor == "" || len(ds) == 0 {
			return out, nil
		}
		opts.Cursor = resp.Cursor
	}
	return out, nil
}

// Redeliver asks GitHub to deliver a webhook again.
func Redeliver(ctx context.Context, app *github.Client, id int64) error {
	_, _, err := app.Apps.RedeliverHookDelivery(ctx, id)
	var accepted *github.AcceptedError
	if err != nil && !errors.As(err, &accepted) {
		return wrap(err, fmt.Sprintf("redeliver webhook delivery %d", id))
	}
	return nil
}

var _ commands.RecordGitHub = (*Client)(nil)

// TagCommit reads the commit refs/tags/<tag> names, an annotated tag peeled, in one
// request (the commits endpoint peels it); ok is false when there is no such tag.
func (c *Client) TagCommit(ctx context.Context, repo commands.RepoRef, tag string) (commands.Commit, bool, error) {
	if !plainRef(tag) {
		return commands.Commit{}, false, nil
	}
	rc, _, err := c.gh.Repositories.GetCommit(ctx, repo.Owner, repo.Name, "refs/tags/"+tag, nil)
	var ger *github.ErrorResponse
	if errors.As(err, &ger) && ger.Response != nil && (ger.Response.StatusCode == http.StatusNotFound || ger.Response.StatusCode == http.StatusUnprocessableEntity) {
		// GitHub answers 422 "No commit found for SHA: refs/tags/..." for a tag it does not have.
		return commands.Commit{}, false, nil
	}
	if err != nil {
		return commands.Commit{}, false, wrap(err, "read tag "+tag)
	}
	return commitOf(rc), true, nil
}
