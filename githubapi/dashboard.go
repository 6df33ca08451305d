package githubapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v50/github"

	"github.com/auger-dev/auger/commands"
)

// What the dashboard asks GitHub: as a signed-in person (a user-to-server token, made
// with NewTokenClient), who they are and which repositories they can read; as the App's
// installation, a repository's recent commits; and, with no credentials at all, the
// conversion of a manifest code into a new App's credentials.

// SignedInUser is the login of the person the client's user-to-server token acts as.
func (c *Client) SignedInUser(ctx context.Context) (string, error) {
	u, _, err := c.gh.Users.Get(ctx, "")
	if err != nil {
		return "", wrap(err, "read the signed-in user")
	}
	return u.GetLogin(), nil
}

// maxUserRepositories bounds what one sign-in lists (100 a page).
const maxUserRepositories = 2000

// UserRepositories lists, sorted, the full names of the repositories the person can
// read through the App's installations: GitHub lists a repository for a user-to-server
// token only when both the App and the person reach it.
func (c *Client) UserRepositories(ctx context.Context) ([]string, error) {
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	var installations []int64
	for {
		list, resp, err := c.gh.Apps.ListUserInstallations(ctx, opts)
		if err != nil {
			return nil, wrap(err, "list the user's installations")
		}
		for _, inst := range list {
			installations = append(installations, inst.GetID())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range installations {
		opts := &github.ListOptions{PerPage: 100}
		for len(out) < maxUserRepositories {
			list, resp, err := c.gh.Apps.ListUserRepos(ctx, id, opts)
			if err != nil {
				return nil, wrap(err, "list the user's repositories")
			}
			for _, r := range list.Repositories {
				out = append(out, r.GetFullName())
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
	}
	sort.Strings(out)
	return out, nil
}

// RecentCommit is one commit of a branch's history, newest first.
type RecentCommit struct {
	commands.Commit
	Time time.Time
}

// RecentCommits lists the newest n commits of branch ("" for the default branch).
func (c *Client) RecentCommits(ctx context.Context, repo commands.RepoRef, branch string, n int) ([]RecentCommit, error) {
	list, _, err := c.gh.Repositories.ListCommits(ctx, repo.Owner, repo.Name, &github.CommitsListOptions{SHA: branch, ListOptions: github.ListOptions{PerPage: n}})
	if err != nil {
		return nil, wrap(err, "list commits of "+repo.FullName())
	}
	out := make([]RecentCommit, 0, len(list))
	for _, rc := range list {
		gc := rc.GetCommit()
		out = append(out, RecentCommit{Commit: commands.Commit{
			SHA: rc.GetSHA(), Message: gc.GetMessage(), AuthorName: gc.GetAuthor().GetName(), AuthorEmail: gc.GetAuthor().GetEmail(),
			CommitterName: gc.GetCommitter().GetName(), CommitterEmail: gc.GetCommitter().GetEmail(), HTMLURL: rc.GetHTMLURL(),
		}, Time: gc.GetAuthor().GetDate().Time})
	}
	return out, nil
}

// OpenPullRequests lists a repository's open pull requests, newest first (one page).
func (c *Client) OpenPullRequests(ctx context.Context, repo commands.RepoRef, n int) ([]commands.PullRequest, error) {
	list, _, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: n}})
	if err != nil {
		return nil, wrap(err, "list pull requests of "+repo.FullName())
	}
	out := make([]commands.PullRequest, 0, len(list))
	for _, pr := range list {
		out = append(out, pullRequest(pr))
	}
	return out, nil
}

// AppCredentials are what GitHub hands out once for an App created from a manifest.
type AppCredentials struct {
	ID            int64
	Slug          string
	HTMLURL       string
	PrivateKey    string
	WebhookSecret string
	ClientID      string
	ClientSecret  string
}

// ConvertManifest trades the code of GitHub's manifest flow for the new App's
// credentials (POST /app-manifests/{code}/conversions, which takes no credentials).
func ConvertManifest(ctx context.Context, apiURL, code string, httpClient *http.Client) (AppCredentials, error) {
	gh := github.NewClient(httpClient)
	if apiURL != "" {
		u, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
		if err != nil {
			return AppCredentials{}, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
		}
		gh.BaseURL = u
	}
	cfg, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		return AppCredentials{}, wrap(err, "convert the App manifest code")
	}
	return AppCredentials{ID: cfg.GetID(), Slug: cfg.GetSlug(), HTMLURL: cfg.GetHTMLURL(), PrivateKey: cfg.GetPEM(),
		WebhookSecret: cfg.GetWebhookSecret(), ClientID: cfg.GetClientID(), ClientSecret: cfg.GetClientSecret()}, nil
}
