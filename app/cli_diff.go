package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/commands"
)

// diffTrouble is exit code 2: the diff could not be made (diff(1)'s code for trouble).
func diffTrouble(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

func newDiffCommand() *cobra.Command {
	var (
		artifactPath, env, app string
		gf                     gitopsFlags
		rf                     renderFlags
		out                    jsonOutput
	)
	cmd := &cobra.Command{
		Use:   "diff --gitops-repo R --artifact F --env E [--app A]",
		Short: "Show what releasing an artifact would change in the gitops repository, without releasing",
		Long: "Render the artifact for the environment and compare each app's objects with what the gitops\n" +
			"repository holds: objects added, removed and changed, with a unified diff per changed object\n" +
			"(Helm's checksum annotations and Auger's release annotations left out). Nothing is written.\n" +
			"Exits 0 when nothing would change, 1 when something would, 2 on trouble, like diff.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case gf.repo == "":
				return diffTrouble(errors.New(`required flag "gitops-repo" not set`))
			case env == "":
				return diffTrouble(errors.New(`required flag "env" not set`))
			case !strings.Contains(gf.repo, "://"):
				// A local path that is not there would be created as a new repository:
				// a diff writes nothing.
				if _, err := os.Stat(gf.repo); err != nil {
					return diffTrouble(fmt.Errorf("no gitops repository at %s: %w", gf.repo, err))
				}
			}
			a, err := readArtifact(artifactPath)
			if err != nil {
				return diffTrouble(err)
			}
			environment, err := gf.environment(env)
			if err != nil {
				return diffTrouble(err)
			}
			renderer, err := rf.renderer()
			if err != nil {
				return diffTrouble(err)
			}
			stage, stop := progress(cmd.ErrOrStderr(), false)
			diffs, err := (&commands.Releaser{Renderer: renderer, Progress: stage}).Diff(cmd.Context(), environment, a, app)
			stop()
			if err != nil {
				return diffTrouble(err)
			}
			if out.enabled {
				if err := out.print(cmd.OutOrStdout(), diffs); err != nil {
					return diffTrouble(err)
				}
			} else {
				fmt.Fprint(cmd.OutOrStdout(), commands.DiffText(env, diffs))
			}
			for _, d := range diffs {
				if len(d.Changes) > 0 {
					return &ExitError{Code: ExitFailure}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&artifactPath, "artifact", "artifact.json", "release artifact JSON file")
	cmd.Flags().StringVar(&env, "env", "", "environment to compare with")
	cmd.Flags().StringVar(&app, "app", "", "only this app (default: every app the artifact has for the env)")
	gf.register(cmd)
	rf.register(cmd)
	out.register(cmd, "the changes")
	// Missing flags are trouble (exit 2), checked above; cobra's own check would exit 1.
	delete(cmd.Flags().Lookup("gitops-repo").Annotations, cobra.BashCompOneRequiredFlag)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return diffTrouble(err) })
	return cmd
}
