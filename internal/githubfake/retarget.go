package githubfake

import (
	"encoding/json"
	"maps"
	"slices"
)

// This file points vendored webhook payloads at the fake's own objects, so that what
// Auger reads from a webhook and what it then fetches from the API agree.

// Retarget points a payload at the repository: repository identity (id, name,
// full_name, owner, URLs, default branch), installation id (when the owner has one)
// and, when sha is not empty, the commit fields the event carries (check_run.head_sha,
// check_suite.head_sha, after and head_commit.id, pull_request.head.sha).
//
// For a check_run or check_suite payload and a non-empty sha it also sets what GitHub
// derives from the commit: pull_requests (of check_run, check_suite and
// check_run.check_suite) are the open pull requests of this repository whose head is
// sha, not those from forks; head_branch (of the check suites; check runs carry none)
// is a branch of this repository whose head is sha (the default branch first, else
// the first by name), or null when there is none. So a fork pull request's head
// commit, which is on no branch here (AddCommit without Branch), gets no pull request
// and a null head_branch, as GitHub sends it: "Pushes to a branch in a forked
// repository are not detected and return an empty pull_requests array and a null
// value for head_branch". Tests may still overwrite either field afterwards.
func (r *Repo) Retarget(p map[string]any, sha string) {
	r.f.mu.Lock()
	ident := r.identityJSON()
	owner := r.f.userJSON(r.Owner)
	inst := r.f.installationFor(r.Owner)
	branch := r.defaultBranch
	var headBranch any
	var headPulls []map[string]any
	if sha != "" {
		if b := r.branchAt(sha); b != "" {
			headBranch = b
		}
		for _, pr := range r.openPullsWithHead(sha) {
			headPulls = append(headPulls, plain(r.pullMinimalJSON(pr)))
		}
	}
	r.f.mu.Unlock()

	repo := obj(p, "repository")
	if repo == nil {
		repo = map[string]any{}
		p["repository"] = repo
	}
	mergeInto(repo, ident)
	if _, isPush := p["pusher"]; isPush {
		// Push payloads name the default branch master_branch too.
		repo["master_branch"] = branch
	}
	if inst != 0 {
		ident := map[string]any{"id": float64(inst), "node_id": nodeID("Installation", inst)}
		if existing := obj(p, "installation"); existing != nil {
			// installation events carry the whole installation; keep it, retargeted.
			mergeInto(existing, ident)
			if account := obj(existing, "account"); account != nil {
				mergeInto(account, owner)
			}
		} else {
			p["installation"] = ident
		}
	}
	if pr := obj(p, "pull_request"); pr != nil {
		for _, side := range []string{"head", "base"} {
			if s := obj(pr, side); s != nil {
				if sr := obj(s, "repo"); sr != nil && !(side == "head" && sr["fork"] == true) {
					mergeInto(sr, ident)
				}
			}
		}
	}
	minimal := map[string]any{"id": ident["id"], "name": ident["name"], "url": ident["url"]}
	for _, holder := range []map[string]any{obj(p, "check_run"), obj(p, "check_suite"), obj(p, "check_run", "check_suite")} {
		if holder == nil {
			continue
		}
		prs, _ := holder["pull_requests"].([]any)
		for _, x := range prs {
			if pr, ok := x.(map[string]any); ok {
				for _, side := range []string{"head", "base"} {
					if s := obj(pr, side); s != nil {
						s["repo"] = minimal
					}
				}
			}
		}
	}
	if sha == "" {
		return
	}
	run, suite, runSuite := obj(p, "check_run"), obj(p, "check_suite"), obj(p, "check_run", "check_suite")
	for _, holder := range []map[string]any{run, suite, runSuite} {
		if holder == nil {
			continue
		}
		holder["head_sha"] = sha
		// A copy each, so no two places of a payload share a map.
		pulls := make([]any, 0, len(headPulls))
		for _, pr := range headPulls {
			pulls = append(pulls, plain(pr))
		}
		holder["pull_requests"] = pulls
	}
	for _, holder := range []map[string]any{suite, runSuite} {
		if holder != nil {
			holder["head_branch"] = headBranch
		}
	}
	if head := obj(p, "pull_request", "head"); head != nil {
		head["sha"] = sha
	}
	if _, ok := p["after"]; ok && p["deleted"] != true {
		p["after"] = sha
		if hc := obj(p, "head_commit"); hc != nil {
			hc["id"] = sha
		}
	}
}

// branchAt is the name of a branch whose head is sha: the default branch if it is
// one, else the first by name; "" when none is. Callers hold f.mu.
func (r *Repo) branchAt(sha string) string {
	if r.branches[r.defaultBranch] == sha {
		return r.defaultBranch
	}
	for _, b := range slices.Sorted(maps.Keys(r.branches)) {
		if r.branches[b] == sha {
			return b
		}
	}
	return ""
}

// identityJSON is the part of a repository object that says which repository it is.
// Callers hold f.mu.
func (r *Repo) identityJSON() map[string]any {
	owner := r.f.userJSON(r.Owner)
	return map[string]any{
		"id":             float64(r.ID),
		"node_id":        nodeID("Repository", r.ID),
		"name":           r.Name,
		"full_name":      r.FullName(),
		"owner":          owner,
		"private":        true,
		"visibility":     "private",
		"html_url":       r.htmlURL(""),
		"url":            r.apiURL(""),
		"clone_url":      webURL + r.FullName() + ".git",
		"git_url":        "git://github.com/" + r.FullName() + ".git",
		"ssh_url":        "git@github.com:" + r.FullName() + ".git",
		"default_branch": r.defaultBranch,
	}
}

// mergeInto overwrites dst's fields with src's; owner objects are merged, not replaced,
// so fields only some events carry (a push's owner.name) survive.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			existing, ok := dst[k].(map[string]any)
			if !ok {
				// A copy, so no two places of a payload share a map.
				existing = map[string]any{}
				dst[k] = existing
			}
			mergeInto(existing, sub)
			continue
		}
		dst[k] = v
	}
}

// RetargetComment points an issue_comment payload at a comment of the repository (see
// AddComment) on its pull request: repository and installation as Retarget does, the
// comment as the API returns it, and the issue as the pull request it belongs to (the
// vendored examples comment on plain issues, which Auger ignores).
func (r *Repo) RetargetComment(p map[string]any, commentID int64) {
	r.Retarget(p, "")
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	cm := r.comment(commentID)
	if cm == nil {
		return
	}
	p["comment"] = plain(r.commentJSON(cm))
	issue := obj(p, "issue")
	if issue == nil {
		issue = map[string]any{}
		p["issue"] = issue
	}
	n := cm.Issue
	fields := map[string]any{
		"number":         n,
		"url":            r.apiURL("issues/%d", n),
		"html_url":       r.htmlURL("pull/%d", n),
		"comments_url":   r.apiURL("issues/%d/comments", n),
		"repository_url": r.apiURL(""),
	}
	if pr := r.pull(n); pr != nil {
		fields["title"], fields["state"], fields["user"] = pr.Title, pr.State, r.f.userJSON(pr.User)
		fields["pull_request"] = map[string]any{
			"url":       r.apiURL("pulls/%d", n),
			"html_url":  r.htmlURL("pull/%d", n),
			"diff_url":  r.htmlURL("pull/%d.diff", n),
			"patch_url": r.htmlURL("pull/%d.patch", n),
			"merged_at": ts(pr.MergedAt),
		}
	}
	mergeInto(issue, plain(fields))
}

// RetargetPull points a pull_request payload at a pull request of the repository: the
// pull_request object is the one the API returns, number and repository follow.
func (r *Repo) RetargetPull(p map[string]any, number int) {
	r.Retarget(p, "")
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	pr := r.pull(number)
	if pr == nil {
		return
	}
	p["number"] = float64(number)
	p["pull_request"] = plain(r.pullJSON(pr))
}

// RetargetCheckRun points a check_run payload at a check run of the repository (one
// Auger created, for requested_action): its id, name, head sha, external id, status,
// conclusion, app and check suite follow the stored run.
func (r *Repo) RetargetCheckRun(p map[string]any, checkRunID int64) {
	r.f.mu.Lock()
	cr := r.checkRun(checkRunID)
	var fields map[string]any
	if cr != nil {
		fields = plain(r.checkRunJSON(cr))
	}
	r.f.mu.Unlock()
	if cr == nil {
		r.Retarget(p, "")
		return
	}
	run := obj(p, "check_run")
	if run == nil {
		run = map[string]any{}
		p["check_run"] = run
	}
	// The webhook's app and check_suite carry more than the API's; merge, don't replace.
	mergeInto(run, fields)
	r.Retarget(p, cr.HeadSHA)
}

// plain turns a builder's map (ints, nested []any) into what json.Unmarshal makes of
// it, so payloads stay uniform for tests that read them back.
func plain(m map[string]any) map[string]any {
	data, err := json.Marshal(m)
	if err != nil {
		// The fake's own maps always marshal; keep the original if one ever does not.
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return m
	}
	return out
}
