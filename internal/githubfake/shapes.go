package githubfake

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// This file builds the objects GitHub embeds everywhere (users, repositories) with
// every field its description requires, so responses validate and go-github finds what
// it reads.

// webURL is where html_url fields point; nothing serves it, as on GitHub.com.
const webURL = "https://github.com/"

// nodeID imitates GitHub's global node ids.
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%02d:%s%d", len(kind), kind, id)))
}

// nodeIDFor is nodeID for objects whose identity is a string (commits, refs).
func nodeIDFor(kind, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + key))
}

// idFor gives each key (a user, a fork, a pull request) a stable id within the fake.
// Callers hold f.mu.
func (f *Fake) idFor(key string) int64 {
	id, ok := f.ids[key]
	if !ok {
		id = f.newID()
		f.ids[key] = id
	}
	return id
}

// userID is a login's user id.
func (f *Fake) userID(login string) int64 { return f.idFor("user:" + strings.ToLower(login)) }

// userJSON is GitHub's simple-user object; logins ending in [bot] are Bots.
func (f *Fake) userJSON(login string) map[string]any {
	id := f.userID(login)
	api := f.URL + "users/" + login
	kind := "User"
	if strings.HasSuffix(login, "[bot]") {
		kind = "Bot"
	}
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             nodeID(kind, id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            webURL + login,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                kind,
		"site_admin":          false,
		"user_view_type":      "public",
	}
}

// userOrNil is a nullable-simple-user.
func (f *Fake) userOrNil(login string) any {
	if login == "" {
		return nil
	}
	return f.userJSON(login)
}

// apiURL is the API URL of a path under the repository.
func (r *Repo) apiURL(format string, args ...any) string {
	u := r.f.URL + "repos/" + r.FullName()
	if format != "" {
		u += "/" + fmt.Sprintf(format, args...)
	}
	return u
}

// htmlURL is the web URL of a path under the repository.
func (r *Repo) htmlURL(format string, args ...any) string {
	u := webURL + r.FullName()
	if format != "" {
		u += "/" + fmt.Sprintf(format, args...)
	}
	return u
}

// repoURLTemplates are the hypermedia fields every repository object carries.
var repoURLTemplates = map[string]string{
	"archive_url":       "/{archive_format}{/ref}",
	"assignees_url":     "/assignees{/user}",
	"blobs_url":         "/git/blobs{/sha}",
	"branches_url":      "/branches{/branch}",
	"collaborators_url": "/collaborators{/collaborator}",
	"comments_url":      "/comments{/number}",
	"commits_url":       "/commits{/sha}",
	"compare_url":       "/compare/{base}...{head}",
	"contents_url":      "/contents/{+path}",
	"contributors_url":  "/contributors",
	"deployments_url":   "/deployments",
	"downloads_url":     "/downloads",
	"events_url":        "/events",
	"forks_url":         "/forks",
	"git_commits_url":   "/git/commits{/sha}",
	"git_refs_url":      "/git/refs{/sha}",
	"git_tags_url":      "/git/tags{/sha}",
	"hooks_url":         "/hooks",
	"issue_comment_url": "/issues/comments{/number}",
	"issue_events_url":  "/issues/events{/number}",
	"issues_url":        "/issues{/number}",
	"keys_url":          "/keys{/key_id}",
	"labels_url":        "/labels{/name}",
	"languages_url":     "/languages",
	"merges_url":        "/merges",
	"milestones_url":    "/milestones{/number}",
	"notifications_url": "/notifications{?since,all,participating}",
	"pulls_url":         "/pulls{/number}",
	"releases_url":      "/releases{/id}",
	"stargazers_url":    "/stargazers",
	"statuses_url":      "/statuses/{sha}",
	"subscribers_url":   "/subscribers",
	"subscription_url":  "/subscription",
	"tags_url":          "/tags",
	"teams_url":         "/teams",
	"trees_url":         "/git/trees{/sha}",
}

// repoJSON is GitHub's full-repository object (a superset of repository). owner and
// fork describe a fork of r when fork is true. Callers hold f.mu.
func (r *Repo) repoJSON(owner string, fork bool) map[string]any {
	f := r.f
	id := r.ID
	if fork {
		// A fork is another repository; give it a stable id of its own.
		id = f.idFor("fork:" + strings.ToLower(owner+"/"+r.Name))
	}
	full := owner + "/" + r.Name
	api := f.URL + "repos/" + full
	m := map[string]any{
		"id":                id,
		"node_id":           nodeID("Repository", id),
		"name":              r.Name,
		"full_name":         full,
		"owner":             f.userJSON(owner),
		"private":           true,
		"visibility":        "private",
		"html_url":          webURL + full,
		"description":       nil,
		"fork":              fork,
		"url":               api,
		"git_url":           "git://github.com/" + full + ".git",
		"ssh_url":           "git@github.com:" + full + ".git",
		"clone_url":         webURL + full + ".git",
		"svn_url":           webURL + full,
		"mirror_url":        nil,
		"homepage":          nil,
		"language":          nil,
		"license":           nil,
		"size":              0,
		"default_branch":    r.defaultBranch,
		"forks":             0,
		"forks_count":       0,
		"open_issues":       0,
		"open_issues_count": 0,
		"stargazers_count":  0,
		"watchers":          0,
		"watchers_count":    0,
		"network_count":     0,
		"subscribers_count": 0,
		"has_issues":        true,
		"has_projects":      false,
		"has_wiki":          false,
		"has_pages":         false,
		"has_downloads":     false,
		"has_discussions":   false,
		"archived":          false,
		"disabled":          false,
		"is_template":       false,
		"topics":            []any{},
		"allow_forking":     true,
		"created_at":        ts(epoch),
		"updated_at":        ts(epoch),
		"pushed_at":         ts(epoch),
	}
	for field, suffix := range repoURLTemplates {
		m[field] = api + suffix
	}
	return m
}
