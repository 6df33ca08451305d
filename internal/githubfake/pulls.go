package githubfake

import (
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
)

// getPull implements pulls/get.
func getPull(c *call) reply {
	pr := c.repo.pull(int(c.intParam("pull_number")))
	if pr == nil {
		return c.notFound()
	}
	return okJSON(c.repo.pullJSON(pr))
}

// listPulls implements pulls/list with the state, head ("owner:branch") and base
// filters, newest first.
func listPulls(c *call) reply {
	state := c.query.Get("state")
	if state == "" {
		state = "open"
	}
	head, base := c.query.Get("head"), c.query.Get("base")
	var list []*PullRequest
	for _, pr := range c.repo.pulls {
		if (state != "all" && pr.State != state) || (base != "" && pr.BaseRef != base) ||
			(head != "" && head != c.repo.headOwner(pr)+":"+pr.HeadRef) {
			continue
		}
		list = append(list, pr)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Number > list[j].Number })
	if c.query.Get("direction") == "asc" {
		sort.Slice(list, func(i, j int) bool { return list[i].Number < list[j].Number })
	}
	return c.pullList(list)
}

func (c *call) pullList(list []*PullRequest) reply {
	lo, hi := c.page(len(list))
	out := []any{}
	for _, pr := range list[lo:hi] {
		out = append(out, c.repo.pullJSON(pr))
	}
	return okJSON(out)
}

// listPullsForCommit implements repos/list-pull-requests-associated-with-commit: pull
// requests whose head is the commit or contains it, and the one it merged. As on
// GitHub, an unmerged pull request from a fork is not listed for its commits: they
// live in the fork, not on a branch of this repository. Once merged, it is.
func listPullsForCommit(c *call) reply {
	commit := c.repo.commit(c.params["commit_sha"])
	if commit == nil {
		return c.invalid("No commit found for SHA: " + c.params["commit_sha"])
	}
	var list []*PullRequest
	for _, pr := range c.repo.pulls {
		baseHead := c.repo.branches[pr.BaseRef]
		contains := pr.HeadSHA == commit.SHA ||
			(c.repo.isAncestor(commit.SHA, pr.HeadSHA) && (baseHead == "" || !c.repo.isAncestor(commit.SHA, baseHead)))
		if pr.Fork && !pr.Merged {
			contains = false
		}
		if contains || pr.MergeCommitSHA == commit.SHA {
			list = append(list, pr)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Number > list[j].Number })
	return c.pullList(list)
}

type createPullBody struct {
	Title *string `json:"title"`
	Head  string  `json:"head"`
	Base  string  `json:"base"`
	Body  string  `json:"body"`
	Draft bool    `json:"draft"`
}

// createPull implements pulls/create for branches of the same repository.
func createPull(c *call) reply {
	var b createPullBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	head := b.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(owner, c.repo.Owner) {
			// Pull requests from forks are not modelled.
			return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
		}
		head = branch
	}
	if b.Title == nil || *b.Title == "" {
		return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	headSHA, baseSHA := c.repo.branches[head], c.repo.branches[b.Base]
	isAncestor := c.repo.isAncestor
	if g := c.repo.git; g != nil {
		headSHA, _ = g.Head(head)
		baseSHA, _ = g.Head(b.Base)
		isAncestor = g.IsAncestor
	}
	if baseSHA == "" {
		return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	if headSHA == "" {
		return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
	}
	for _, pr := range c.repo.pulls {
		if pr.State == "open" && pr.HeadRef == head && pr.BaseRef == b.Base && !pr.Fork {
			return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", c.repo.Owner, head)})
		}
	}
	if isAncestor(headSHA, baseSHA) {
		return c.invalid("Validation Failed", fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", b.Base, head)})
	}
	pr := &PullRequest{Title: *b.Title, Body: b.Body, User: botLogin, HeadRef: head, HeadSHA: headSHA,
		BaseRef: b.Base, State: "open", Draft: b.Draft, CreatedAt: now()}
	c.repo.addPull(pr)
	c.header.Set("Location", c.repo.apiURL("pulls/%d", pr.Number))
	return created(c.repo.pullJSON(pr))
}

type mergeBody struct {
	CommitTitle   string `json:"commit_title"`
	CommitMessage string `json:"commit_message"`
	SHA           string `json:"sha"`
	MergeMethod   string `json:"merge_method"`
}

// mergePull implements pulls/merge: a merge (or squash/rebase, both as one commit)
// of the head's changes since the merge base onto the base branch; conflicting files
// make the pull request unmergeable.
func mergePull(c *call) reply {
	pr := c.repo.pull(int(c.intParam("pull_number")))
	if pr == nil {
		return c.notFound()
	}
	var b mergeBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	if pr.State != "open" || pr.Fork {
		return c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	if b.SHA != "" && b.SHA != pr.HeadSHA {
		return c.fail(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	}
	if g := c.repo.git; g != nil {
		return mergeInGit(c, g, pr, b)
	}
	baseSHA := c.repo.branches[pr.BaseRef]
	baseCommit, headCommit := c.repo.commits[baseSHA], c.repo.commits[pr.HeadSHA]
	if baseCommit == nil || headCommit == nil {
		return c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	var ancestorFiles map[string]string
	if mb := c.repo.commits[c.repo.mergeBase(baseSHA, pr.HeadSHA)]; mb != nil {
		ancestorFiles = mb.Files
	}
	files, clean := mergeTrees(ancestorFiles, baseCommit.Files, headCommit.Files)
	if !clean {
		return c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	method := b.MergeMethod
	if method == "" {
		method = "merge"
	}
	title := b.CommitTitle
	if title == "" {
		title = fmt.Sprintf("Merge pull request #%d from %s:%s", pr.Number, c.repo.headOwner(pr), pr.HeadRef)
		if method != "merge" {
			title = fmt.Sprintf("%s (#%d)", pr.Title, pr.Number)
		}
	}
	message := title
	if b.CommitMessage != "" {
		message += "\n\n" + b.CommitMessage
	}
	parents := []string{baseSHA, pr.HeadSHA}
	if method != "merge" {
		parents = parents[:1]
	}
	sha := c.repo.addCommit(Commit{Branch: pr.BaseRef, Message: message, AuthorName: botLogin,
		AuthorEmail: fmt.Sprintf("%d+%s@users.noreply.github.com", appID, botLogin), Parents: parents, Files: files})
	t := now()
	pr.State, pr.Merged, pr.MergeCommitSHA, pr.MergedBy, pr.MergedAt, pr.ClosedAt = "closed", true, sha, botLogin, t, t
	return okJSON(map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// mergeInGit merges a pull request of a git-backed repository in its git repository.
func mergeInGit(c *call, g GitBackend, pr *PullRequest, b mergeBody) reply {
	if head, _ := g.Head(pr.HeadRef); head != pr.HeadSHA {
		return c.fail(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	}
	title := b.CommitTitle
	if title == "" {
		title = fmt.Sprintf("Merge pull request #%d from %s:%s", pr.Number, c.repo.headOwner(pr), pr.HeadRef)
	}
	sha, ok, err := g.Merge(pr.BaseRef, pr.HeadSHA, title)
	if err != nil {
		return c.fail(http.StatusInternalServerError, err.Error())
	}
	if !ok {
		return c.fail(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	t := now()
	pr.State, pr.Merged, pr.MergeCommitSHA, pr.MergedBy, pr.MergedAt, pr.ClosedAt = "closed", true, sha, botLogin, t, t
	return okJSON(map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// mergeTrees applies the changes from ancestor to theirs onto ours, file by file; it
// reports false when both sides changed a file differently.
func mergeTrees(ancestor, ours, theirs map[string]string) (map[string]string, bool) {
	out := maps.Clone(ours)
	paths := maps.Clone(ancestor)
	maps.Copy(paths, theirs)
	for p := range paths {
		a, inA := ancestor[p]
		t, inT := theirs[p]
		o, inO := ours[p]
		switch {
		case inA == inT && a == t: // they did not touch it
		case inA == inO && a == o: // only they changed it
			if inT {
				out[p] = t
			} else {
				delete(out, p)
			}
		case inO == inT && o == t: // both made the same change
		default:
			return nil, false
		}
	}
	return out, true
}

// listReviews implements pulls/list-reviews, oldest first.
func listReviews(c *call) reply {
	number := int(c.intParam("pull_number"))
	pr := c.repo.pull(number)
	if pr == nil {
		return c.notFound()
	}
	list := c.repo.reviews[number]
	lo, hi := c.page(len(list))
	out := []any{}
	for _, rv := range list[lo:hi] {
		out = append(out, map[string]any{
			"id":                 rv.ID,
			"node_id":            nodeID("PullRequestReview", rv.ID),
			"user":               c.f.userOrNil(rv.User),
			"body":               rv.Body,
			"state":              rv.State,
			"commit_id":          orNil(rv.CommitID),
			"html_url":           c.repo.htmlURL("pull/%d#pullrequestreview-%d", number, rv.ID),
			"pull_request_url":   c.repo.apiURL("pulls/%d", number),
			"submitted_at":       ts(rv.SubmittedAt),
			"author_association": c.repo.association(rv.User),
			"_links": map[string]any{
				"html":         map[string]any{"href": c.repo.htmlURL("pull/%d#pullrequestreview-%d", number, rv.ID)},
				"pull_request": map[string]any{"href": c.repo.apiURL("pulls/%d", number)},
			},
		})
	}
	return okJSON(out)
}

// headOwner is the owner of the repository the pull request's head lives in.
func (r *Repo) headOwner(pr *PullRequest) string {
	if pr.Fork {
		return pr.User
	}
	return r.Owner
}

// pullID is the pull request's id, distinct from its number as on GitHub.
func (r *Repo) pullID(pr *PullRequest) int64 {
	return r.f.idFor(fmt.Sprintf("pull:%d:%d", r.ID, pr.Number))
}

// pullJSON is GitHub's pull-request object (a superset of pull-request-simple).
// Callers hold f.mu.
func (r *Repo) pullJSON(pr *PullRequest) map[string]any {
	n := pr.Number
	link := func(u string) map[string]any { return map[string]any{"href": u} }
	headOwner := r.headOwner(pr)
	var mergeable any
	mergeableState := "unknown"
	if pr.State == "open" {
		mergeable, mergeableState = true, "clean"
	}
	comments := 0
	for _, cm := range r.comments {
		if cm.Issue == n {
			comments++
		}
	}
	return map[string]any{
		"id":                    r.pullID(pr),
		"node_id":               nodeID("PullRequest", r.pullID(pr)),
		"number":                n,
		"url":                   r.apiURL("pulls/%d", n),
		"html_url":              r.htmlURL("pull/%d", n),
		"diff_url":              r.htmlURL("pull/%d.diff", n),
		"patch_url":             r.htmlURL("pull/%d.patch", n),
		"issue_url":             r.apiURL("issues/%d", n),
		"commits_url":           r.apiURL("pulls/%d/commits", n),
		"review_comments_url":   r.apiURL("pulls/%d/comments", n),
		"review_comment_url":    r.apiURL("pulls/comments{/number}"),
		"comments_url":          r.apiURL("issues/%d/comments", n),
		"statuses_url":          r.apiURL("statuses/%s", pr.HeadSHA),
		"state":                 pr.State,
		"locked":                false,
		"title":                 pr.Title,
		"body":                  orNil(pr.Body),
		"user":                  r.f.userJSON(pr.User),
		"labels":                []any{},
		"milestone":             nil,
		"assignee":              nil,
		"assignees":             []any{},
		"requested_reviewers":   []any{},
		"requested_teams":       []any{},
		"draft":                 pr.Draft,
		"created_at":            ts(pr.CreatedAt),
		"updated_at":            ts(pr.CreatedAt),
		"closed_at":             ts(pr.ClosedAt),
		"merged_at":             ts(pr.MergedAt),
		"merge_commit_sha":      orNil(pr.MergeCommitSHA),
		"merged":                pr.Merged,
		"merged_by":             r.f.userOrNil(pr.MergedBy),
		"mergeable":             mergeable,
		"rebaseable":            mergeable,
		"mergeable_state":       mergeableState,
		"maintainer_can_modify": false,
		"author_association":    r.association(pr.User),
		"auto_merge":            nil,
		"comments":              comments,
		"review_comments":       0,
		"commits":               1,
		"additions":             0,
		"deletions":             0,
		"changed_files":         0,
		"head": map[string]any{
			"label": headOwner + ":" + pr.HeadRef,
			"ref":   pr.HeadRef,
			"sha":   pr.HeadSHA,
			"user":  r.f.userJSON(headOwner),
			"repo":  r.repoJSON(headOwner, pr.Fork),
		},
		"base": map[string]any{
			"label": r.Owner + ":" + pr.BaseRef,
			"ref":   pr.BaseRef,
			"sha":   r.branches[pr.BaseRef],
			"user":  r.f.userJSON(r.Owner),
			"repo":  r.repoJSON(r.Owner, false),
		},
		"_links": map[string]any{
			"self":            link(r.apiURL("pulls/%d", n)),
			"html":            link(r.htmlURL("pull/%d", n)),
			"issue":           link(r.apiURL("issues/%d", n)),
			"comments":        link(r.apiURL("issues/%d/comments", n)),
			"review_comments": link(r.apiURL("pulls/%d/comments", n)),
			"review_comment":  link(r.apiURL("pulls/comments{/number}")),
			"commits":         link(r.apiURL("pulls/%d/commits", n)),
			"statuses":        link(r.apiURL("statuses/%s", pr.HeadSHA)),
		},
	}
}

// openPullsWithHead are the open pull requests of this repository, not from forks,
// whose head is sha, in number order: those GitHub embeds in a check run or suite of
// sha. Callers hold f.mu.
func (r *Repo) openPullsWithHead(sha string) []*PullRequest {
	var out []*PullRequest
	for _, pr := range r.pulls {
		if pr.State == "open" && pr.HeadSHA == sha && !pr.Fork {
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// pullMinimalJSON is GitHub's pull-request-minimal object, as check runs embed it.
func (r *Repo) pullMinimalJSON(pr *PullRequest) map[string]any {
	repo := map[string]any{"id": r.ID, "url": r.apiURL(""), "name": r.Name}
	return map[string]any{
		"id":     r.pullID(pr),
		"number": pr.Number,
		"url":    r.apiURL("pulls/%d", pr.Number),
		"head":   map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "repo": repo},
		"base":   map[string]any{"ref": pr.BaseRef, "sha": r.branches[pr.BaseRef], "repo": repo},
	}
}
