package app

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/dashboard"
	"github.com/auger-dev/auger/githubapi"
)

// newDashboard builds the dashboard from the server's own parts, or returns nil, with
// one line in the log, when the App's OAuth client is not configured.
func newDashboard(cfg *Config, log zerolog.Logger, m *metrics, rules []commands.EnvironmentRules, prs *commands.PullRequests,
	repoClient func(context.Context, string) (*githubapi.Client, error)) (*dashboard.Dashboard, error) {
	if cfg.GitHub.ClientID == "" || cfg.GitHub.ClientSecret == "" {
		log.Info().Msg("dashboard off: set github.clientID and github.clientSecret (AUGER_GITHUB_CLIENT_ID, AUGER_GITHUB_CLIENT_SECRET or _FILE) to turn it on")
		return nil, nil
	}
	httpClient := &http.Client{Transport: m.githubTransport(http.DefaultTransport), Timeout: 30 * time.Second}
	return dashboard.New(dashboard.Config{
		ClientID:     cfg.GitHub.ClientID,
		ClientSecret: cfg.GitHub.ClientSecret,
		WebURL:       cfg.GitHub.WebURL,
		APIURL:       cfg.GitHub.APIURL,
		PublicURL:    cfg.Server.PublicURL,
		Environments: rules,
		PullRequests: prs,
		Recorder:     prs.Recorder,
		Installation: func(ctx context.Context, repository string) (dashboard.RepoGitHub, error) {
			return repoClient(ctx, repository)
		},
		UserGitHub: func(token string) dashboard.UserGitHub {
			client, _ := githubapi.NewTokenClient(cfg.GitHub.APIURL, token, httpClient) // the URL was validated at start-up
			return client
		},
		HTTPClient:    httpClient,
		ActionTimeout: cfg.Server.EventTimeout,
		Log:           log,
	})
}
