package app

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

func newCleanupCommand() *cobra.Command {
	var (
		env, app string
		gf       gitopsFlags
		af       actorFlags
	)
	cmd := &cobra.Command{
		Use:   "cleanup --gitops-repo R --env E --app A",
		Short: "Delete an app's folder from an environment (a preview's cleanup), as a gitops commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := gf.environment(env)
			if err != nil {
				return err
			}
			res, err := environment.Repo.Delete(cmd.Context(), gitops.Target{Env: env, Path: environment.Path, App: app}, af.actor())
			if err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is not in %s; nothing to do\n", app, env)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s from %s: gitops commit %s\n", app, env, text.Short(res.Commit))
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "environment")
	cmd.Flags().StringVar(&app, "app", "", "app to delete")
	gf.register(cmd)
	af.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.MarkFlagRequired("app")
	return cmd
}

func newStatusCommand() *cobra.Command {
	var (
		env, tokenEnv, apiURL string
		stale, del            bool
		asJSON                jsonOutput
		gf                    gitopsFlags
		af                    actorFlags
	)
	cmd := &cobra.Command{
		Use:   "status --gitops-repo R --env E [--stale [--delete]] [--json]",
		Short: "Show the current release of every app in an environment, or the stale previews",
		Long: "Show the current release of every app in an environment. With --stale, list the preview apps whose\n" +
			"branch no longer exists (a cleanup event was missed), asking GitHub with the token in $GITHUB_TOKEN;\n" +
			"with --delete, remove them too.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := gf.environment(env)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !stale {
				apps, locks, err := commands.EnvStatus(cmd.Context(), environment)
				if err != nil {
					return err
				}
				if asJSON.enabled {
					return asJSON.print(w, statusJSON(apps, locks))
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "APP\tRELEASE\tACTION\tSHA\tTRIGGERED BY\tTIME\tLOCKED")
				for _, st := range apps {
					locked := "no"
					if st.Lock != nil {
						locked = "by " + st.Lock.By
					}
					e := st.Current
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", st.App, e.Number, e.Action, dash(text.Short(e.Sha)), dash(e.TriggeredBy), e.Time.Format("2006-01-02 15:04:05"), locked)
				}
				return tw.Flush()
			}
			token := os.Getenv(tokenEnv)
			if token == "" {
				return fmt.Errorf("--stale asks GitHub which branches exist: set %s to a token that can read the app repositories", tokenEnv)
			}
			if apiURL == "" {
				apiURL = os.Getenv("GITHUB_API_URL")
			}
			gh, err := githubapi.NewTokenClient(apiURL, token, nil)
			if err != nil {
				return err
			}
			records, err := commands.Stale(cmd.Context(), environment, gh)
			if err != nil {
				return err
			}
			if len(records) == 0 && !asJSON.enabled {
				fmt.Fprintf(w, "no stale previews in %s\n", env)
				return nil
			}
			out := make([]staleOut, 0, len(records))
			for _, rec := range records {
				branch := rec.Version.SourceBranch
				if branch == "" {
					branch = rec.Version.Branch
				}
				if !del {
					out = append(out, staleOut{App: rec.App, Branch: branch, Repository: rec.Version.RepositoryName})
					if !asJSON.enabled {
						fmt.Fprintf(w, "stale: %s (branch %s of %s is gone)\n", rec.App, branch, rec.Version.RepositoryName)
					}
					continue
				}
				res, err := environment.Repo.Delete(cmd.Context(), gitops.Target{Env: env, Path: environment.Path, App: rec.App}, af.actor())
				if err != nil {
					return err
				}
				out = append(out, staleOut{App: rec.App, Branch: branch, Repository: rec.Version.RepositoryName, Deleted: true, Commit: res.Commit})
				if !asJSON.enabled {
					fmt.Fprintf(w, "deleted stale %s (branch %s is gone): gitops commit %s\n", rec.App, branch, text.Short(res.Commit))
				}
			}
			if asJSON.enabled {
				return asJSON.print(w, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "environment")
	cmd.Flags().BoolVar(&stale, "stale", false, "list preview apps whose branch no longer exists")
	cmd.Flags().BoolVar(&del, "delete", false, "with --stale: delete them")
	cmd.Flags().StringVar(&tokenEnv, "token-env", "GITHUB_TOKEN", "variable holding a GitHub token, for --stale")
	asJSON.register(cmd, "the apps (or, with --stale, the stale previews)")
	cmd.Flags().StringVar(&apiURL, "api-url", "", "GitHub REST API base (default: $GITHUB_API_URL, else GitHub.com)")
	gf.register(cmd)
	af.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

// appStatusOut is one app's line of `auger status --json`.
type appStatusOut struct {
	App     string       `json:"app"`
	Current gitops.Entry `json:"current"`
	Lock    *gitops.Lock `json:"lock,omitempty"`
}

// statusOut is what `auger status --json` prints: every app, and every lock of the
// environment (an environment-wide lock belongs to no app).
type statusOut struct {
	Apps  []appStatusOut `json:"apps"`
	Locks []gitops.Lock  `json:"locks"`
}

func statusJSON(apps []commands.AppStatus, locks []gitops.Lock) statusOut {
	out := statusOut{Apps: make([]appStatusOut, 0, len(apps)), Locks: locks}
	for _, st := range apps {
		out.Apps = append(out.Apps, appStatusOut{App: st.App, Current: st.Current, Lock: st.Lock})
	}
	if out.Locks == nil {
		out.Locks = []gitops.Lock{}
	}
	return out
}

// staleOut is one stale preview of `auger status --stale --json`.
type staleOut struct {
	App        string `json:"app"`
	Branch     string `json:"branch"`
	Repository string `json:"repository"`
	Deleted    bool   `json:"deleted"`
	Commit     string `json:"commit,omitempty"`
}
