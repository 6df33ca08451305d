package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/dashboard"
)

// needsSetup tells whether the configuration lacks the GitHub App itself and the
// operator named, with AUGER_SETUP_DIR, where its credentials should go: Auger then
// serves the setup page instead of failing.
func needsSetup(err error) bool {
	var ce *ConfigError
	if !errors.As(err, &ce) || os.Getenv("AUGER_SETUP_DIR") == "" {
		return false
	}
	for _, p := range ce.Problems {
		if strings.HasPrefix(p, "github.appID: required") {
			return true
		}
	}
	return false
}

// serveSetup serves the setup page until ctx ends (see dashboard.Setup).
func serveSetup(ctx context.Context, environ []string, log zerolog.Logger) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	get := func(name, def string) string {
		if v := env[name]; v != "" {
			return v
		}
		return def
	}
	setup, err := dashboard.NewSetup(dashboard.SetupConfig{
		WebURL: get("AUGER_GITHUB_WEB_URL", DefaultGitHubWebURL), APIURL: get("AUGER_GITHUB_API_URL", DefaultGitHubAPIURL),
		PublicURL: env["AUGER_PUBLIC_URL"], Dir: env["AUGER_SETUP_DIR"],
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, Log: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", get("AUGER_LISTEN", DefaultListen))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Warn().Str("listen", ln.Addr().String()).Str("dir", env["AUGER_SETUP_DIR"]).
		Msg("no GitHub App configured: serving the setup page; open it to register the App (AUGER_SETUP_DIR names where its credentials go)")
	srv := &http.Server{Handler: setup, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
