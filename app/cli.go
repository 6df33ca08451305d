package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/manifests"
)

// Version is set at build time with -ldflags "-X github.com/auger-dev/auger/app.Version=...";
// without it, `auger version` reports the module version from the build info.
var Version = "dev"

// Main runs the CLI with args and returns the process exit code. Failures print one
// line, "auger: <reason>", on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	started := false
	markStarted(root, &started)
	if err := root.ExecuteContext(ctx); err != nil {
		var cfgErr *ConfigError
		if errors.As(err, &cfgErr) {
			// One line per problem, so an operator fixes them all in one go.
			for _, p := range cfgErr.Problems {
				fmt.Fprintf(stderr, "auger: config: %s\n", oneLine(p))
			}
			return ExitFailure
		}
		if exit := (*ExitError)(nil); errors.As(err, &exit) && exit.Err == nil {
			return exit.Code
		}
		fmt.Fprintf(stderr, "auger: %s\n", oneLine(err.Error()))
		return exitCode(err, started)
	}
	return ExitOK
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// NewRootCommand builds the `auger` command tree.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "auger",
		Short:         "GitOps release manager: artifacts in, Helm-rendered releases out, into a gitops repository",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newVersionCommand(),
		newArtifactCommand(),
		newRenderCommand(),
		newReleaseCommand(),
		newRollbackCommand(),
		newReleasesCommand(),
		newEnvCommand(),
		newServeCommand(),
		newAgentCommand(),
		newCleanupCommand(),
		newStatusCommand(),
		newInitCommand(),
		newDiffCommand(),
	)
	completeFlagValues(root)
	return root
}

// gitopsFlags are the flags every command that touches a gitops repository shares.
type gitopsFlags struct {
	repo     string
	branch   string
	path     string
	cacheDir string
	sshKey   string
}

func (f *gitopsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.repo, "gitops-repo", "", "gitops repository: a local path (created if missing), file://, https:// or ssh:// URL; an HTTPS token is read from AUGER_GITOPS_TOKEN")
	cmd.Flags().StringVar(&f.branch, "branch", gitops.DefaultBranch, "gitops branch")
	cmd.Flags().StringVar(&f.path, "path", "", "the environment's folder in the gitops repository (default: the env name)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "where cached clones live (default: the user cache dir)")
	cmd.Flags().StringVar(&f.sshKey, "ssh-key", "", "private key file for ssh:// gitops repositories")
	_ = cmd.MarkFlagRequired("gitops-repo")
}

func (f *gitopsFlags) environment(env string) (commands.Environment, error) {
	repo, err := gitops.Open(gitops.Remote{
		URL:        f.repo,
		Password:   os.Getenv("AUGER_GITOPS_TOKEN"),
		SSHKeyFile: f.sshKey,
	}, gitops.Options{Branch: f.branch, CacheDir: f.cacheDir})
	if err != nil {
		return commands.Environment{}, err
	}
	return commands.Environment{Name: env, Path: f.path, Repo: repo}, nil
}

// actorFlags say who triggered a write from the terminal.
type actorFlags struct {
	triggeredBy string
	trigger     string
}

func (f *actorFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.triggeredBy, "triggered-by", "", "who asked, for the Auger-Triggered-By trailer (default: the OS user)")
	cmd.Flags().StringVar(&f.trigger, "trigger", "", "idempotency key for the Auger-Trigger trailer: a write whose trigger is already recorded makes no second commit")
}

func (f *actorFlags) actor() gitops.Actor {
	by := f.triggeredBy
	if by == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			by = u.Username
		} else {
			by = "cli"
		}
	}
	return gitops.Actor{TriggeredBy: by, Trigger: f.trigger}
}

// renderFlags configure Helm rendering.
type renderFlags struct {
	chartCache string
}

func (f *renderFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.chartCache, "chart-cache", "", "where downloaded charts are cached (default: the user cache dir)")
}

func (f *renderFlags) renderer() (*manifests.Renderer, error) {
	return manifests.NewRenderer(manifests.Options{CacheDir: f.chartCache})
}

func readArtifact(path string) (*artifact.Artifact, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	a, err := artifact.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
