package commandstest

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/auger-dev/auger/commands"
)

// ids numbers what the fakes create, unique across them.
var ids atomic.Int64

func newID() int64 { return 1000 + ids.Add(1) }

// Checks fakes commands.Checks: check runs kept in memory.
type Checks struct {
	// Runs are the check runs, oldest first; tests add CI's and read Auger's.
	Runs []commands.CheckRun
	log
}

// CheckRuns lists the runs on sha.
func (c *Checks) CheckRuns(_ context.Context, _ commands.RepoRef, sha string) ([]commands.CheckRun, error) {
	if err := c.call("CheckRuns", sha[:min(7, len(sha))]); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []commands.CheckRun
	for _, cr := range c.Runs {
		if cr.HeadSHA == sha {
			out = append(out, cr)
		}
	}
	return out, nil
}

// CreateCheckRun adds a run; AppID is left to the test (set OwnAppID).
func (c *Checks) CreateCheckRun(_ context.Context, _ commands.RepoRef, cr commands.CheckRun) (commands.CheckRun, error) {
	if err := c.call("CreateCheckRun", cr.Name); err != nil {
		return commands.CheckRun{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cr.ID, cr.AppID = newID(), OwnAppID
	cr.HTMLURL = fmt.Sprintf("https://github.test/runs/%d", cr.ID)
	c.Runs = append(c.Runs, cr)
	return cr, nil
}

// UpdateCheckRun changes the fields set in cr; annotations are added.
func (c *Checks) UpdateCheckRun(_ context.Context, _ commands.RepoRef, cr commands.CheckRun) (commands.CheckRun, error) {
	if err := c.call("UpdateCheckRun", cr.ID); err != nil {
		return commands.CheckRun{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.Runs {
		r := &c.Runs[i]
		if r.ID != cr.ID {
			continue
		}
		for _, f := range []struct{ to, from *string }{{&r.Status, &cr.Status}, {&r.Conclusion, &cr.Conclusion}, {&r.Title, &cr.Title},
			{&r.Summary, &cr.Summary}, {&r.Text, &cr.Text}, {&r.ExternalID, &cr.ExternalID}} {
			if *f.from != "" {
				*f.to = *f.from
			}
		}
		r.Annotations = append(r.Annotations, cr.Annotations...)
		if cr.Actions != nil {
			r.Actions = cr.Actions
		}
		return *r, nil
	}
	return commands.CheckRun{}, fmt.Errorf("check run %d: %w", cr.ID, commands.ErrNotFound)
}

// Named returns the runs of a name, oldest first.
func (c *Checks) Named(name string) []commands.CheckRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []commands.CheckRun
	for _, cr := range c.Runs {
		if cr.Name == name {
			out = append(out, cr)
		}
	}
	return out
}

// OwnAppID is the App id the fakes give what Auger creates; use it as Recorder.AppID.
const OwnAppID = 1

// Contents fakes commands.Contents: files per commit.
type Contents struct {
	// Files maps a sha to its files by path.
	Files   map[string]map[string]string
	Commits map[string]commands.Commit
	// Tags maps a tag to the commit it points at.
	Tags map[string]string
	log
}

// TagCommit reads the commit Tags has for tag, with its details from Commits.
func (c *Contents) TagCommit(_ context.Context, _ commands.RepoRef, tag string) (commands.Commit, bool, error) {
	if err := c.call("TagCommit", tag); err != nil {
		return commands.Commit{}, false, err
	}
	sha, ok := c.Tags[tag]
	if !ok {
		return commands.Commit{}, false, nil
	}
	commit := c.Commits[sha]
	commit.SHA = sha
	return commit, true, nil
}

// ReadDir lists the files directly in dir at sha.
func (c *Contents) ReadDir(_ context.Context, _ commands.RepoRef, sha, dir string) ([]commands.RepoFile, error) {
	if err := c.call("ReadDir", dir); err != nil {
		return nil, err
	}
	var out []commands.RepoFile
	for p, content := range c.Files[sha] {
		if path.Dir(p) == dir {
			out = append(out, commands.RepoFile{Path: p, Content: []byte(content)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s at %s: %w", dir, sha, commands.ErrNotFound)
	}
	slices.SortFunc(out, func(a, b commands.RepoFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Commit returns Commits[sha].
func (c *Contents) Commit(_ context.Context, _ commands.RepoRef, sha string) (commands.Commit, error) {
	if err := c.call("Commit", sha); err != nil {
		return commands.Commit{}, err
	}
	if cm, ok := c.Commits[sha]; ok {
		return cm, nil
	}
	return commands.Commit{SHA: sha, Message: "a commit", AuthorName: "Jane"}, nil
}

// Conversation fakes commands.Conversation: pull requests, comments and reactions.
type Conversation struct {
	Pulls map[int]commands.PullRequest
	// Threads are the comments of each pull request.
	Threads map[int][]commands.Comment
	// Reactions maps a comment id to the reactions Auger gave it, in order.
	Reactions map[int64][]string
	log
}

// PullRequest returns Pulls[number].
func (c *Conversation) PullRequest(_ context.Context, _ commands.RepoRef, number int) (commands.PullRequest, error) {
	if err := c.call("PullRequest", number); err != nil {
		return commands.PullRequest{}, err
	}
	pr, ok := c.Pulls[number]
	if !ok {
		return pr, fmt.Errorf("pull request #%d: %w", number, commands.ErrNotFound)
	}
	return pr, nil
}

// CreateComment adds a comment.
func (c *Conversation) CreateComment(_ context.Context, _ commands.RepoRef, issue int, body string) (commands.Comment, error) {
	if err := c.call("CreateComment", issue); err != nil {
		return commands.Comment{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Threads == nil {
		c.Threads = map[int][]commands.Comment{}
	}
	cm := commands.Comment{ID: newID(), Body: body}
	c.Threads[issue] = append(c.Threads[issue], cm)
	return cm, nil
}

// UpdateComment changes a comment's body.
func (c *Conversation) UpdateComment(_ context.Context, _ commands.RepoRef, id int64, body string) error {
	if err := c.call("UpdateComment", id); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, list := range c.Threads {
		for i := range list {
			if list[i].ID == id {
				list[i].Body = body
				return nil
			}
		}
	}
	return fmt.Errorf("comment %d: %w", id, commands.ErrNotFound)
}

// Comments lists a pull request's comments.
func (c *Conversation) Comments(_ context.Context, _ commands.RepoRef, issue int) ([]commands.Comment, error) {
	if err := c.call("Comments", issue); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.Threads[issue]), nil
}

// React records a reaction.
func (c *Conversation) React(_ context.Context, _ commands.RepoRef, id int64, content string) error {
	if err := c.call("React", content); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Reactions == nil {
		c.Reactions = map[int64][]string{}
	}
	c.Reactions[id] = append(c.Reactions[id], content)
	return nil
}

// Replies returns the bodies of the comments on a pull request.
func (c *Conversation) Replies(issue int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, cm := range c.Threads[issue] {
		out = append(out, cm.Body)
	}
	return out
}

// DeploymentLog fakes commands.Deployments.
type DeploymentLog struct {
	List     []commands.Deployment
	Statuses map[int64][]commands.DeploymentStatus
	log
}

// CreateDeployment adds a Deployment; its payload is kept as JSON would give it back.
func (d *DeploymentLog) CreateDeployment(_ context.Context, _ commands.RepoRef, dep commands.Deployment) (commands.Deployment, error) {
	if err := d.call("CreateDeployment", dep.Environment); err != nil {
		return commands.Deployment{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	dep.ID = newID()
	if apps, ok := dep.Payload["apps"].([]string); ok {
		payload := map[string]any{}
		for k, v := range dep.Payload {
			payload[k] = v
		}
		list := make([]any, len(apps))
		for i, a := range apps {
			list[i] = a
		}
		payload["apps"] = list
		dep.Payload = payload
	}
	d.List = append(d.List, dep)
	return dep, nil
}

// Deployments lists the Deployments of sha to env, newest first.
func (d *DeploymentLog) Deployments(_ context.Context, _ commands.RepoRef, sha, env string) ([]commands.Deployment, error) {
	if err := d.call("Deployments", env); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []commands.Deployment
	for i := len(d.List) - 1; i >= 0; i-- {
		if dep := d.List[i]; dep.Ref == sha && dep.Environment == env {
			out = append(out, dep)
		}
	}
	return out, nil
}

// CreateDeploymentStatus adds a status.
func (d *DeploymentLog) CreateDeploymentStatus(_ context.Context, _ commands.RepoRef, id int64, s commands.DeploymentStatus) error {
	if err := d.call("CreateDeploymentStatus", s.State); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Statuses == nil {
		d.Statuses = map[int64][]commands.DeploymentStatus{}
	}
	d.Statuses[id] = append(d.Statuses[id], s)
	return nil
}

// GitHub is every fake in one commands.PullRequestsGitHub.
type GitHub struct {
	Checks
	Contents
	Conversation
	DeploymentLog
	Rules
}

// Calls is the number of requests made, over every part.
func (g *GitHub) Calls() int {
	return g.Checks.Total() + g.Contents.Total() + g.Conversation.Total() + g.DeploymentLog.Total() + g.Rules.Total()
}

var _ commands.PullRequestsGitHub = (*GitHub)(nil)
