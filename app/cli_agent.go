package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/auger-dev/auger/agent"
)

func newAgentCommand() *cobra.Command {
	var (
		server, env, tokenFile, kubeconfig, level string
		namespaces                                []string
		reconcile                                 bool
	)
	cmd := &cobra.Command{
		Use:   "agent --server URL --env ENV --token-file F",
		Short: "Run in a cluster: watch what Auger released and report the rollout to the server",
		Long: "Watch the workloads Auger released in this cluster (labelled app.kubernetes.io/managed-by=auger)\n" +
			"and report their rollout to the Auger server. Flags default from AUGER_AGENT_SERVER, AUGER_AGENT_ENV,\n" +
			"AUGER_AGENT_TOKEN_FILE (or the token itself in AUGER_AGENT_TOKEN) and AUGER_AGENT_NAMESPACES\n" +
			"(comma-separated). The cluster is the one the agent runs in, or --kubeconfig.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server = firstSet(server, os.Getenv("AUGER_AGENT_SERVER"))
			env = firstSet(env, os.Getenv("AUGER_AGENT_ENV"))
			tokenFile = firstSet(tokenFile, os.Getenv("AUGER_AGENT_TOKEN_FILE"))
			if len(namespaces) == 0 && os.Getenv("AUGER_AGENT_NAMESPACES") != "" {
				namespaces = strings.Split(os.Getenv("AUGER_AGENT_NAMESPACES"), ",")
			}
			token := os.Getenv("AUGER_AGENT_TOKEN")
			if tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				token = strings.TrimSpace(string(data))
			}
			if server == "" || env == "" || token == "" {
				return errors.New("agent: --server, --env and --token-file (or the AUGER_AGENT_* variables) are required")
			}
			config, err := clusterConfig(kubeconfig)
			if err != nil {
				return err
			}
			lvl, err := zerolog.ParseLevel(level)
			if err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			a, err := agent.New(agent.Options{
				Server: server, Env: env, Token: token, Namespaces: namespaces, Config: config, Reconcile: reconcile,
				Log: zerolog.New(cmd.ErrOrStderr()).Level(lvl).With().Timestamp().Str("env", env).Logger(),
			})
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "the Auger server's URL")
	f.StringVar(&env, "env", "", "the environment this cluster runs")
	f.StringVar(&tokenFile, "token-file", "", "file holding the environment's agent token")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, then $KUBECONFIG and ~/.kube/config)")
	f.StringArrayVar(&namespaces, "namespace", nil, "namespace to watch; repeatable (default: all)")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&reconcile, "flux-reconcile", true, "ask Flux to apply a release as soon as Auger writes it (patches auger-<env>'s reconcile.fluxcd.io/requestedAt)")
	return cmd
}

// clusterConfig is the in-cluster configuration, or a kubeconfig's.
func clusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("agent: no cluster: not in a cluster, and no kubeconfig: %w", err)
	}
	return cfg, nil
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
