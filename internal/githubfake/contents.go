package githubfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// rawPrefix serves download_url, the way raw.githubusercontent.com serves file
// contents: /_raw/{owner}/{repo}/{sha}/{path}. go-github's DownloadContents follows it.
const rawPrefix = "/_raw/"

// getRepo implements repos/get.
func getRepo(c *call) reply {
	return okJSON(c.repo.repoJSON(c.repo.Owner, false))
}

// getContent implements repos/get-content: a file as base64 content, a directory as
// the array of its entries, at ?ref= (default: the default branch).
func getContent(c *call) reply {
	ref := c.query.Get("ref")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	commit := c.repo.commit(ref)
	if commit == nil {
		return c.notFound()
	}
	p := strings.Trim(c.params["path"], "/")
	if content, ok := commit.Files[p]; ok {
		return okJSON(c.repo.fileJSON(commit.SHA, p, content, true))
	}
	entries := c.repo.dirEntries(commit, p)
	if len(entries) == 0 {
		return c.notFound()
	}
	return okJSON(entries)
}

// dirEntries lists the files and subdirectories directly under dir ("" is the root).
func (r *Repo) dirEntries(commit *Commit, dir string) []any {
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	files := map[string]string{}
	dirs := map[string]bool{}
	for p, content := range commit.Files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if name, _, isDir := strings.Cut(rest, "/"); isDir {
			dirs[name] = true
		} else {
			files[name] = content
		}
	}
	var out []any
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		out = append(out, r.dirJSON(commit, path.Join(dir, name)))
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out = append(out, r.fileJSON(commit.SHA, path.Join(dir, name), files[name], false))
	}
	return out
}

// fileJSON is GitHub's content-file object; directory listings leave out the content.
func (r *Repo) fileJSON(ref, p, content string, withContent bool) map[string]any {
	sha := blobSHA(content)
	self := r.apiURL("contents/%s?ref=%s", escapePath(p), url.QueryEscape(ref))
	m := map[string]any{
		"type":         "file",
		"name":         path.Base(p),
		"path":         p,
		"sha":          sha,
		"size":         len(content),
		"url":          self,
		"git_url":      r.apiURL("git/blobs/%s", sha),
		"html_url":     r.htmlURL("blob/%s/%s", ref, escapePath(p)),
		"download_url": strings.TrimSuffix(r.f.URL, "/") + rawPrefix + r.FullName() + "/" + ref + "/" + escapePath(p),
		"_links": map[string]any{
			"self": self,
			"git":  r.apiURL("git/blobs/%s", sha),
			"html": r.htmlURL("blob/%s/%s", ref, escapePath(p)),
		},
	}
	if withContent {
		m["encoding"] = "base64"
		m["content"] = wrap76(base64.StdEncoding.EncodeToString([]byte(content)))
	}
	return m
}

// dirJSON is a directory entry of a listing; its sha stands in for git's tree id.
func (r *Repo) dirJSON(commit *Commit, dir string) map[string]any {
	h := sha1.New()
	for _, p := range slices.Sorted(maps.Keys(commit.Files)) {
		if strings.HasPrefix(p, dir+"/") {
			fmt.Fprintf(h, "%s\x00%s\x00", p, blobSHA(commit.Files[p]))
		}
	}
	sha := hex.EncodeToString(h.Sum(nil))
	self := r.apiURL("contents/%s?ref=%s", escapePath(dir), url.QueryEscape(commit.SHA))
	return map[string]any{
		"type":         "dir",
		"name":         path.Base(dir),
		"path":         dir,
		"sha":          sha,
		"size":         0,
		"url":          self,
		"git_url":      r.apiURL("git/trees/%s", sha),
		"html_url":     r.htmlURL("tree/%s/%s", commit.SHA, escapePath(dir)),
		"download_url": nil,
		"_links": map[string]any{
			"self": self,
			"git":  r.apiURL("git/trees/%s", sha),
			"html": r.htmlURL("tree/%s/%s", commit.SHA, escapePath(dir)),
		},
	}
}

// wrap76 breaks base64 into lines of 60 characters plus newline, as GitHub sends it
// (clients must strip the newlines; go-github does).
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// serveRaw answers download_url requests with the file's bytes.
func (f *Fake) serveRaw(w http.ResponseWriter, r *http.Request) {
	content, ok := f.rawFile(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(content))
}

// rawFile looks up /_raw/{owner}/{repo}/{ref}/{path}.
func (f *Fake) rawFile(urlPath string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(urlPath, rawPrefix), "/", 4)
	if len(parts) != 4 {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	repo := f.repos[strings.ToLower(parts[0]+"/"+parts[1])]
	if repo == nil {
		return "", false
	}
	commit := repo.commit(parts[2])
	if commit == nil {
		return "", false
	}
	content, ok := commit.Files[parts[3]]
	return content, ok
}

// getCommit implements repos/get-commit, with the files changed against the first
// parent.
func getCommit(c *call) reply {
	commit := c.repo.commit(c.params["ref"])
	if commit == nil {
		return c.invalid("No commit found for SHA: " + c.params["ref"])
	}
	return okJSON(c.repo.commitJSON(commit))
}

// commitJSON is GitHub's commit object, with the files changed against the first
// parent and their stats. Callers hold f.mu.
func (r *Repo) commitJSON(commit *Commit) map[string]any {
	var parentFiles map[string]string
	if len(commit.Parents) > 0 {
		if pc := r.commits[commit.Parents[0]]; pc != nil {
			parentFiles = pc.Files
		}
	}
	files, additions, deletions := r.diffEntries(commit.SHA, parentFiles, commit.Files, -1)
	m := r.commitSummaryJSON(commit)
	m["stats"] = map[string]any{"additions": additions, "deletions": deletions, "total": additions + deletions}
	m["files"] = files
	return m
}

// commitSummaryJSON is GitHub's commit object without files and stats, as lists of
// commits (a comparison's) carry it. Callers hold f.mu.
func (r *Repo) commitSummaryJSON(commit *Commit) map[string]any {
	parents := []any{}
	for _, p := range commit.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": r.apiURL("commits/%s", p), "html_url": r.htmlURL("commit/%s", p)})
	}
	author := map[string]any{"name": commit.AuthorName, "email": commit.AuthorEmail, "date": ts(commit.Time)}
	var user any = map[string]any{}
	if commit.AuthorLogin != "" {
		user = r.f.userJSON(commit.AuthorLogin)
	}
	return map[string]any{
		"sha":          commit.SHA,
		"node_id":      nodeIDFor("Commit", commit.SHA),
		"url":          r.apiURL("commits/%s", commit.SHA),
		"html_url":     r.htmlURL("commit/%s", commit.SHA),
		"comments_url": r.apiURL("commits/%s/comments", commit.SHA),
		"commit": map[string]any{
			"url":           r.apiURL("git/commits/%s", commit.SHA),
			"author":        author,
			"committer":     author,
			"message":       commit.Message,
			"tree":          map[string]any{"sha": commit.SHA, "url": r.apiURL("git/trees/%s", commit.SHA)},
			"comment_count": 0,
			"verification":  map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		},
		"author":    user,
		"committer": user,
		"parents":   parents,
	}
}

// diffEntries are GitHub's diff-entry objects for the files that differ between the
// trees before and after (at commit sha), in path order, at most limit of them (all
// when limit < 0), and the line counts of all of them.
func (r *Repo) diffEntries(sha string, before, after map[string]string, limit int) (files []any, additions, deletions int) {
	files = []any{}
	paths := map[string]bool{}
	for p := range after {
		paths[p] = true
	}
	for p := range before {
		paths[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		newContent, inNow := after[p]
		oldContent, inBefore := before[p]
		if inNow && inBefore && newContent == oldContent {
			continue
		}
		status, add, del, blob := "modified", lines(newContent), lines(oldContent), any(blobSHA(newContent))
		switch {
		case !inBefore:
			status, del = "added", 0
		case !inNow:
			status, add, blob = "removed", 0, nil
		}
		additions += add
		deletions += del
		if limit >= 0 && len(files) >= limit {
			continue
		}
		files = append(files, map[string]any{
			"sha":          blob,
			"filename":     p,
			"status":       status,
			"additions":    add,
			"deletions":    del,
			"changes":      add + del,
			"blob_url":     r.htmlURL("blob/%s/%s", sha, escapePath(p)),
			"raw_url":      r.htmlURL("raw/%s/%s", sha, escapePath(p)),
			"contents_url": r.apiURL("contents/%s?ref=%s", escapePath(p), sha),
		})
	}
	return files, additions, deletions
}

// lines counts the lines of a file's content, as diff stats do.
func lines(s string) int {
	if s == "" {
		return 0
	}
	n := strings.Count(s, "\n")
	if !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// getRef implements git/get-ref for heads/<branch> and tags/<tag>; an annotated tag's
// ref points at its tag object.
func getRef(c *call) reply {
	ref := c.params["ref"]
	var sha string
	kind := "commit"
	switch {
	case strings.HasPrefix(ref, "heads/"):
		sha = c.repo.branches[strings.TrimPrefix(ref, "heads/")]
	case strings.HasPrefix(ref, "tags/"):
		name := strings.TrimPrefix(ref, "tags/")
		sha = c.repo.tags[name]
		if obj := c.repo.tagObjects[name]; obj != nil {
			sha, kind = obj.SHA, "tag"
		}
	}
	if sha == "" {
		return c.notFound()
	}
	objURL := c.repo.apiURL("git/commits/%s", sha)
	if kind == "tag" {
		objURL = c.repo.apiURL("git/tags/%s", sha)
	}
	return okJSON(map[string]any{
		"ref":     "refs/" + ref,
		"node_id": nodeIDFor("Ref", c.repo.FullName()+":"+ref),
		"url":     c.repo.apiURL("git/refs/%s", ref),
		"object":  map[string]any{"type": kind, "sha": sha, "url": objURL},
	})
}

// getTag implements git/get-tag: an annotated tag's object, by its sha.
func getTag(c *call) reply {
	for _, obj := range c.repo.tagObjects {
		if obj.SHA != c.params["tag_sha"] {
			continue
		}
		return okJSON(map[string]any{
			"sha":          obj.SHA,
			"node_id":      nodeIDFor("Tag", c.repo.FullName()+":"+obj.SHA),
			"url":          c.repo.apiURL("git/tags/%s", obj.SHA),
			"tag":          obj.Tag,
			"message":      obj.Message,
			"tagger":       map[string]any{"name": obj.Tagger, "email": "jane@example.com", "date": obj.Time.Format(time.RFC3339)},
			"object":       map[string]any{"type": "commit", "sha": obj.Commit, "url": c.repo.apiURL("git/commits/%s", obj.Commit)},
			"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		})
	}
	return c.notFound()
}
