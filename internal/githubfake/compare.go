package githubfake

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GitHub's caps on a comparison: commits listed when no paging parameter is given, and
// files listed at all.
const (
	maxCompareCommits = 250
	maxCompareFiles   = 300
)

// compareCommits implements repos/compare-commits, GET compare/{base}...{head} (what
// go-github's CompareCommits sends). Each side is a branch, tag or sha of the
// repository, resolved like every commit-ish of the fake; a fork pull request's head
// commit (added with AddCommit and no Branch) resolves too, as GitHub keeps it under
// refs/pull/N/head of the base repository. The answer is git's base...head: status
// identical, ahead (base is an ancestor of head), behind (head is an ancestor of base)
// or diverged; ahead_by and total_commits count the commits of head not in base,
// behind_by those of base not in head; commits lists the former oldest first; files
// are the changes from the merge base to head. A side that does not resolve is GitHub's
// 404 Not Found; sides with no common history its 404 "No common ancestor".
func compareCommits(c *call) reply {
	baseRef, headRef := c.params["base"], c.params["head"]
	if bh, ok := c.params["basehead"]; ok {
		// The same comparison under GitHub's newer path, compare/{basehead}.
		var found bool
		if baseRef, headRef, found = strings.Cut(bh, "..."); !found {
			baseRef, headRef, _ = strings.Cut(bh, "..")
		}
	}
	base, head := c.repo.commit(baseRef), c.repo.commit(headRef)
	if base == nil || head == nil {
		return c.notFound()
	}
	mergeBase := c.repo.commits[c.repo.mergeBase(base.SHA, head.SHA)]
	if mergeBase == nil {
		return c.fail(http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", baseRef, headRef))
	}
	ahead := c.repo.onlyIn(head.SHA, base.SHA)
	behind := c.repo.onlyIn(base.SHA, head.SHA)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}

	// Without paging parameters GitHub lists the newest 250 commits; with them, pages
	// of the whole list, oldest first.
	paged := c.query.Has("per_page") || c.query.Has("page")
	lo, hi := max(len(ahead)-maxCompareCommits, 0), len(ahead)
	if paged {
		lo, hi = c.page(len(ahead))
	}
	commits := make([]any, 0, hi-lo)
	for _, cm := range ahead[lo:hi] {
		commits = append(commits, c.repo.commitSummaryJSON(cm))
	}
	// The files come with the first page only.
	files := []any{}
	if queryInt(c.query, "page", 1) <= 1 {
		files, _, _ = c.repo.diffEntries(head.SHA, mergeBase.Files, head.Files, maxCompareFiles)
	}

	spec := url.PathEscape(baseRef) + "..." + url.PathEscape(headRef)
	html := c.repo.htmlURL("compare/%s", spec)
	return okJSON(map[string]any{
		"url":               c.repo.apiURL("compare/%s", spec),
		"html_url":          html,
		"permalink_url":     c.repo.htmlURL("compare/%s:%s...%s:%s", c.repo.Owner, base.SHA, c.repo.Owner, head.SHA),
		"diff_url":          html + ".diff",
		"patch_url":         html + ".patch",
		"base_commit":       c.repo.commitSummaryJSON(base),
		"merge_base_commit": c.repo.commitSummaryJSON(mergeBase),
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         len(behind),
		"total_commits":     len(ahead),
		"commits":           commits,
		"files":             files,
	})
}

// onlyIn returns the commits reachable from sha but not from other (git's other..sha),
// parents before children. Callers hold f.mu.
func (r *Repo) onlyIn(sha, other string) []*Commit {
	excluded := r.reachable(other)
	var out []*Commit
	visited := map[string]bool{}
	// Depth-first, emitting a commit after its parents: an order git log --reverse
	// --topo-order would also give.
	var visit func(s string)
	visit = func(s string) {
		if visited[s] || excluded[s] {
			return
		}
		visited[s] = true
		c := r.commits[s]
		if c == nil {
			return
		}
		for _, p := range c.Parents {
			visit(p)
		}
		out = append(out, c)
	}
	visit(sha)
	return out
}

// reachable is the set of commits reachable from sha through parents, sha included.
// Callers hold f.mu.
func (r *Repo) reachable(sha string) map[string]bool {
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		if c := r.commits[s]; c != nil {
			queue = append(queue, c.Parents...)
		}
	}
	return seen
}
