package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/gitops"
)

// gitopsAccess opens environments' gitops repositories. A repository on the same
// GitHub is cloned from <web url><owner>/<name>.git with an installation token of the
// App's installation there; go-githubapp exposes no tokens, so they come from a
// ghinstallation transport per installation, which refreshes them before they expire.
type gitopsAccess struct {
	cfg     *Config
	clients githubapp.ClientCreator
	client  *http.Client

	mu            sync.Mutex
	installations map[string]int64
	transports    map[int64]*ghinstallation.Transport
}

func newGitopsAccess(cfg *Config, clients githubapp.ClientCreator, client *http.Client) *gitopsAccess {
	return &gitopsAccess{cfg: cfg, clients: clients, client: client, installations: map[string]int64{}, transports: map[int64]*ghinstallation.Transport{}}
}

// rules builds the environments' rules, with how to open their gitops repositories.
func (g *gitopsAccess) rules() []commands.EnvironmentRules {
	out := make([]commands.EnvironmentRules, 0, len(g.cfg.Environments))
	for _, e := range g.cfg.Environments {
		r := commands.EnvironmentRules{
			Name: e.Name, PolicyBranches: e.PolicyBranches, Permission: e.Permission, Teams: e.Teams, Users: e.Users,
			RequireApproval: e.RequireApproval, RequireChecks: e.RequireChecks, AllowForks: e.AllowForks,
			URL: e.URL, Production: e.Production, Path: e.Gitops.Path, LiveStatus: e.ResolvedAgentToken() != "", AgentTimeout: e.AgentTimeout,
		}
		r.Gitops = g.opener(e.Gitops)
		if e.Gitops.Repository != "" {
			web := g.cfg.GitHub.WebURL + e.Gitops.Repository
			r.GitopsCommitURL = func(sha string) string { return web + "/commit/" + sha }
			owner, name, _ := strings.Cut(e.Gitops.Repository, "/")
			r.GitopsRepo, r.GitopsBranch = commands.RepoRef{Owner: owner, Name: name}, e.Gitops.Branch
			full := e.Gitops.Repository
			r.GitopsGitHub = func(ctx context.Context) (commands.GitopsPullRequests, error) {
				id, err := g.installation(ctx, full)
				if err != nil {
					return nil, err
				}
				client, err := g.clients.NewInstallationClient(id)
				if err != nil {
					return nil, fmt.Errorf("GitHub client for %s: %w", full, err)
				}
				return githubapi.New(client), nil
			}
		}
		r.PullRequests, r.AutoMerge = e.Release.Mode == "pull-request", e.Release.Merge == "auto"
		out = append(out, r)
	}
	return out
}

func (g *gitopsAccess) opener(repo GitopsRepo) func(context.Context) (*gitops.Repo, error) {
	opts := g.cfg.Gitops.options(repo.Branch)
	opts.AuthorName = "Auger"
	return func(ctx context.Context) (*gitops.Repo, error) {
		if repo.URL != "" {
			return gitops.Open(gitops.Remote{URL: repo.URL, Password: os.Getenv("AUGER_GITOPS_TOKEN")}, opts)
		}
		token, err := g.token(ctx, repo.Repository)
		if err != nil {
			return nil, err
		}
		url := g.cfg.GitHub.WebURL + repo.Repository + ".git"
		return gitops.Open(gitops.Remote{URL: url, Username: "x-access-token", Password: token}, opts)
	}
}

// installation finds (once) the App's installation on a repository.
func (g *gitopsAccess) installation(ctx context.Context, fullName string) (int64, error) {
	g.mu.Lock()
	id, ok := g.installations[fullName]
	g.mu.Unlock()
	if ok {
		return id, nil
	}
	app, err := g.clients.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("GitHub App client: %w", err)
	}
	owner, name, _ := strings.Cut(fullName, "/")
	if id, err = githubapi.RepoInstallation(ctx, app, commands.RepoRef{Owner: owner, Name: name}); err != nil {
		return 0, err
	}
	g.mu.Lock()
	g.installations[fullName] = id
	g.mu.Unlock()
	return id, nil
}

// token is an installation token for the App's installation on a repository.
func (g *gitopsAccess) token(ctx context.Context, fullName string) (string, error) {
	id, err := g.installation(ctx, fullName)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	tr, ok := g.transports[id]
	if !ok {
		var err error
		tr, err = ghinstallation.New(g.client.Transport, g.cfg.GitHub.AppID, id, []byte(g.cfg.GitHub.PrivateKey))
		if err != nil {
			return "", fmt.Errorf("installation token for %s: %w", fullName, err)
		}
		tr.BaseURL = strings.TrimSuffix(g.cfg.GitHub.APIURL, "/")
		g.transports[id] = tr
	}
	token, err := tr.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("installation token for %s: %w", fullName, err)
	}
	return token, nil
}
