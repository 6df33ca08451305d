package app

import (
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

func newServeCommand() *cobra.Command {
	var configPath, level string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]",
		Short: "Run the GitHub App server: webhooks in, artifacts recorded, releases out",
		Long: "Run the GitHub App server. Configuration comes from --config (YAML, unknown keys are errors)\n" +
			"and AUGER_* environment variables, which win: AUGER_GITHUB_APP_ID, AUGER_GITHUB_PRIVATE_KEY or\n" +
			"AUGER_GITHUB_PRIVATE_KEY_FILE, AUGER_GITHUB_WEBHOOK_SECRET (or _FILE), AUGER_GITHUB_API_URL,\n" +
			"AUGER_GITHUB_WEB_URL, AUGER_LISTEN, AUGER_PUBLIC_URL, AUGER_GITOPS_CACHE_DIR, AUGER_CHART_CACHE_DIR.\n" +
			"The dashboard (at /) needs the App's OAuth client: AUGER_GITHUB_CLIENT_ID and AUGER_GITHUB_CLIENT_SECRET (or _FILE).\n" +
			"Without App credentials and with AUGER_SETUP_DIR set, it serves a setup page that registers the App.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := zerolog.ParseLevel(level)
			if err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := zerolog.New(cmd.ErrOrStderr()).Level(lvl).With().Timestamp().Logger()
			cfg, err := LoadConfig(configPath, os.Environ())
			if needsSetup(err) {
				return serveSetup(cmd.Context(), os.Environ(), log)
			}
			if err != nil {
				return err
			}
			zerolog.TimeFieldFormat = time.RFC3339Nano
			srv, err := NewServer(cfg, log)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "server configuration file (YAML)")
	cmd.Flags().StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}
