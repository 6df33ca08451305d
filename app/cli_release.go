package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/text"
)

func newRenderCommand() *cobra.Command {
	var (
		artifactPath, env, app, out string
		rf                          renderFlags
		asJSON                      jsonOutput
	)
	cmd := &cobra.Command{
		Use:   "render --artifact F --env E [--app A] [--out DIR] [--json]",
		Short: "Render an artifact's env configs to Kubernetes manifests, without writing a release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := readArtifact(artifactPath)
			if err != nil {
				return err
			}
			renderer, err := rf.renderer()
			if err != nil {
				return err
			}
			stage, stop := progress(cmd.ErrOrStderr(), asJSON.enabled)
			rendered, err := (&commands.Releaser{Renderer: renderer, Progress: stage}).Render(cmd.Context(), a, env, app)
			stop()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			records := make([]renderedOut, 0, len(rendered))
			for _, r := range rendered {
				resolved, files := r.EnvConfig, r.Files
				rec := renderedOut{App: resolved.App, Env: resolved.Env, Namespace: resolved.Namespace, Files: make([]renderedFile, 0, len(files))}
				if out != "" {
					rec.Dir = filepath.Join(out, resolved.App)
				}
				for _, f := range files {
					file := renderedFile{Name: f.Name}
					if out == "" {
						file.Content = string(f.Data)
					}
					rec.Files = append(rec.Files, file)
				}
				records = append(records, rec)
				if out == "" && asJSON.enabled {
					continue
				}
				if out == "" {
					for _, f := range files {
						fmt.Fprintf(w, "---\n# %s/%s/%s\n%s", resolved.Env, resolved.App, f.Name, f.Data)
					}
					continue
				}
				dir := filepath.Join(out, resolved.App)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				for _, f := range files {
					if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
						return err
					}
				}
				if !asJSON.enabled {
					fmt.Fprintf(w, "rendered %s for %s: %d objects in %s\n", resolved.App, resolved.Env, len(files), dir)
				}
			}
			if asJSON.enabled {
				return asJSON.print(w, records)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&artifactPath, "artifact", "artifact.json", "release artifact JSON file")
	cmd.Flags().StringVar(&env, "env", "", "environment to render for")
	cmd.Flags().StringVar(&app, "app", "", "only this app (default: every app the artifact has for the env)")
	cmd.Flags().StringVar(&out, "out", "", "write <out>/<app>/<kind>-<name>.yaml instead of printing")
	asJSON.register(cmd, "the rendered files (with their content, unless --out wrote them)")
	rf.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

// renderedOut is one app's rendering, as `auger render --json` prints it.
type renderedOut struct {
	App       string         `json:"app"`
	Env       string         `json:"env"`
	Namespace string         `json:"namespace"`
	Dir       string         `json:"dir,omitempty"`
	Files     []renderedFile `json:"files"`
}

type renderedFile struct {
	Name    string `json:"name"`
	Content string `json:"content,omitempty"`
}

func newReleaseCommand() *cobra.Command {
	var (
		artifactPath, env, app string
		asJSON                 jsonOutput
		gf                     gitopsFlags
		af                     actorFlags
		rf                     renderFlags
	)
	cmd := &cobra.Command{
		Use:   "release --gitops-repo R --artifact F --env E [--app A] [--path P]",
		Short: "Render an artifact for an environment and commit it to the gitops repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := readArtifact(artifactPath)
			if err != nil {
				return err
			}
			environment, err := gf.environment(env)
			if err != nil {
				return err
			}
			renderer, err := rf.renderer()
			if err != nil {
				return err
			}
			stage, stop := progress(cmd.ErrOrStderr(), asJSON.enabled)
			releaser := commands.Releaser{Renderer: renderer, Authorizer: commands.Anyone{}, Progress: stage}
			done, err := releaser.Release(cmd.Context(), environment, commands.DeployRequest{Artifact: a, Env: env, App: app, Actor: af.actor()})
			stop()
			if asJSON.enabled {
				if jerr := asJSON.print(cmd.OutOrStdout(), releasedJSON(done)); jerr != nil {
					return jerr
				}
			} else {
				for _, r := range done {
					printReleased(cmd, environment, r, a.Version.SHA)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&artifactPath, "artifact", "artifact.json", "release artifact JSON file")
	cmd.Flags().StringVar(&env, "env", "", "environment to release to")
	cmd.Flags().StringVar(&app, "app", "", "only this app (default: every app the artifact has for the env)")
	asJSON.register(cmd, "the releases made")
	gf.register(cmd)
	af.register(cmd)
	rf.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

type releasedOut struct {
	App     string   `json:"app"`
	Env     string   `json:"env"`
	Commit  string   `json:"commit"`
	Changed bool     `json:"changed"`
	Files   []string `json:"files"`
}

func releasedJSON(done []commands.Released) []releasedOut {
	out := make([]releasedOut, 0, len(done))
	for _, r := range done {
		out = append(out, releasedOut{App: r.App, Env: r.Env, Commit: r.Result.Commit, Changed: r.Result.Changed, Files: r.Files})
	}
	return out
}

func printReleased(cmd *cobra.Command, env commands.Environment, r commands.Released, sha string) {
	w := cmd.OutOrStdout()
	folder := env.Path
	if folder == "" {
		folder = r.Env
	}
	if !r.Result.Changed {
		fmt.Fprintf(w, "%s %s is already released to %s (gitops commit %s); nothing to do\n", r.App, text.Short(sha), r.Env, text.Short(r.Result.Commit))
		return
	}
	fmt.Fprintf(w, "released %s %s to %s: gitops commit %s on %s of %s\n", r.App, text.Short(sha), r.Env, text.Short(r.Result.Commit), r.Result.Branch, env.Repo)
	fmt.Fprintf(w, "  %s/%s/: %s\n", folder, r.App, strings.Join(append(r.Files, gitops.KustomizationFile, gitops.RecordFile), ", "))
}

func newRollbackCommand() *cobra.Command {
	var (
		env, app, to string
		asJSON       jsonOutput
		gf           gitopsFlags
		af           actorFlags
	)
	cmd := &cobra.Command{
		Use:   "rollback --gitops-repo R --env E --app A [--to REF]",
		Short: "Restore an app to an earlier release, as a new gitops commit",
		Long: "Restore an app's folder to the exact tree of an earlier release. --to takes a release number\n" +
			"(from `auger releases`), a gitops commit or an app sha; by default the release before the current one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := gf.environment(env)
			if err != nil {
				return err
			}
			stage, stop := progress(cmd.ErrOrStderr(), asJSON.enabled)
			releaser := commands.Releaser{Authorizer: commands.Anyone{}, Progress: stage}
			rb, err := releaser.Rollback(cmd.Context(), environment, commands.RollbackRequest{Env: env, App: app, To: to, Actor: af.actor()})
			stop()
			if err != nil {
				return err
			}
			if asJSON.enabled {
				return asJSON.print(cmd.OutOrStdout(), map[string]any{"commit": rb.Result.Commit, "changed": rb.Result.Changed, "to": rb.To})
			}
			w := cmd.OutOrStdout()
			if !rb.Result.Changed {
				fmt.Fprintf(w, "%s in %s already runs release %d (%s); nothing to do\n", app, env, rb.To.Number, text.Short(rb.To.Sha))
				return nil
			}
			fmt.Fprintf(w, "rolled back %s in %s to release %d (%s, gitops commit %s): gitops commit %s\n",
				app, env, rb.To.Number, text.Short(rb.To.Sha), text.Short(rb.To.Commit), text.Short(rb.Result.Commit))
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "environment")
	cmd.Flags().StringVar(&app, "app", "", "app to roll back")
	cmd.Flags().StringVar(&to, "to", "", "release number, gitops commit or app sha to restore (default: the release before the current one)")
	asJSON.register(cmd, "the rollback")
	gf.register(cmd)
	af.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.MarkFlagRequired("app")
	return cmd
}

func newReleasesCommand() *cobra.Command {
	var (
		env, app string
		asJSON   jsonOutput
		gf       gitopsFlags
	)
	cmd := &cobra.Command{
		Use:   "releases --gitops-repo R --env E [--app A] [--json]",
		Short: "List the release log of an environment or one app, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := gf.environment(env)
			if err != nil {
				return err
			}
			log, err := environment.Repo.Log(cmd.Context(), gitops.Target{Env: env, Path: environment.Path, App: app})
			if err != nil {
				return err
			}
			if asJSON.enabled {
				if log == nil {
					log = []gitops.Entry{}
				}
				return asJSON.print(cmd.OutOrStdout(), log)
			}
			if len(log) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no releases in %s yet\n", env)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tTIME\tAPP\tACTION\tSHA\tTRIGGERED BY\tGITOPS COMMIT\tARTIFACT")
			for _, e := range log {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Number, e.Time.Format("2006-01-02 15:04:05"), e.App, e.Action,
					dash(text.Short(e.Sha)), dash(e.TriggeredBy), text.Short(e.Commit), dash(e.Artifact))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "environment")
	cmd.Flags().StringVar(&app, "app", "", "only this app")
	asJSON.register(cmd, "the release log (an array, newest first)")
	gf.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newEnvCommand() *cobra.Command {
	env := &cobra.Command{Use: "env", Short: "Manage environments in a gitops repository"}
	var (
		name, sourceURL, secret string
		gf                      gitopsFlags
		af                      actorFlags
	)
	create := &cobra.Command{
		Use:   "create --gitops-repo R --env E [--path P] [--source-url URL]",
		Short: "Write the Flux bootstrap (GitRepository + Kustomization) that applies an environment's folder",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := gf.environment(name)
			if err != nil {
				return err
			}
			src := sourceURL
			if src == "" {
				src = gf.repo
			}
			res, files, err := environment.Repo.CreateEnv(cmd.Context(), gitops.EnvBootstrap{Env: name, Path: environment.Path, SourceURL: src, SecretName: secret}, af.actor())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !res.Changed {
				fmt.Fprintf(w, "environment %s is already set up (gitops commit %s)\n", name, text.Short(res.Commit))
				return nil
			}
			fmt.Fprintf(w, "created environment %s: gitops commit %s\n", name, text.Short(res.Commit))
			for _, f := range files {
				fmt.Fprintf(w, "  %s\n", f)
			}
			if !strings.Contains(src, "://") && !strings.Contains(src, "@") {
				fmt.Fprintf(w, "note: %s is a local path; pass --source-url with the URL your cluster clones from\n", src)
			}
			switch {
			case secret != "":
				// The reference is in source.yaml; the Secret itself never goes into git.
				fmt.Fprintf(w, "create the Secret Flux clones with first (a token that can read the repository; on GitHub a fine-grained token with Contents: read):\n"+
					"  kubectl -n flux-system create secret generic %s --from-literal=username=x-access-token --from-literal=password=<token>\n", secret)
			case strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://"):
				fmt.Fprintf(w, "note: Flux clones %s without credentials; for a private repository run again with --secret NAME\n", gitops.Redact(src))
			}
			fmt.Fprintf(w, "apply once in the cluster: kubectl apply -f flux/%s/\n", name)
			return nil
		},
	}
	create.Flags().StringVar(&name, "env", "", "environment name (a DNS label)")
	create.Flags().StringVar(&sourceURL, "source-url", "", "URL the cluster's Flux clones the gitops repository from (default: --gitops-repo)")
	create.Flags().StringVar(&secret, "secret", "", "name of the Secret in flux-system holding clone credentials")
	gf.register(create)
	af.register(create)
	_ = create.MarkFlagRequired("env")
	env.AddCommand(create)
	return env
}
