package app

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/gitops"
)

// Exit codes of the CLI, one table in the README ("Exit codes"). Scripts tell a mistake in
// the command line (fix the call) from a refusal (wait for the unlock) from a failure.
const (
	ExitOK      = 0
	ExitFailure = 1
	// ExitUsage: the command line itself is wrong (unknown command or flag, a bad flag
	// value, a missing required flag, an unexpected argument); nothing was done.
	ExitUsage = 2
	// ExitLocked: a lock refused the release or rollback; nothing was written.
	ExitLocked = 3
)

// ExitError carries an exit code other than ExitFailure for a command's error. A
// command that needs its own code (such as a diff that found differences) returns one;
// without Err the process exits with Code and prints nothing.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// exitCode maps a command's error to the process exit code. started says whether the
// command's RunE ran: everything cobra refuses before that is a usage error.
func exitCode(err error, started bool) int {
	var exit *ExitError
	var locked *gitops.LockedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case !started:
		return ExitUsage
	case errors.As(err, &locked):
		return ExitLocked
	default:
		return ExitFailure
	}
}

// markStarted wraps the RunE of every command under c so that *started turns true once
// a command's own code runs (after cobra parsed flags and checked arguments).
func markStarted(c *cobra.Command, started *bool) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			*started = true
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		markStarted(sub, started)
	}
}

// jsonOutput is the --json switch shared by every command that prints records
// (releases, status, render, release, rollback, version, diff): one flag name, one
// encoder (indented; lists are arrays, never null).
type jsonOutput struct{ enabled bool }

// register adds --json to cmd; what names the records ("the release log").
func (o *jsonOutput) register(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&o.enabled, "json", false, "print "+what+" as JSON instead of a table")
}

// print writes v as JSON.
func (o *jsonOutput) print(w io.Writer, v any) error {
	return printJSON(w, v)
}

// versionInfo is what `auger version` prints: the version given at build time, else the
// module version from the build info (set by `go install ...@vX`), and the VCS commit
// the Go toolchain stamped (set when built from a git checkout).
type versionInfo struct {
	Version       string `json:"version"`
	Module        string `json:"module"`
	ModuleVersion string `json:"moduleVersion"`
	Commit        string `json:"commit,omitempty"`
	CommitTime    string `json:"commitTime,omitempty"`
	Modified      bool   `json:"modified,omitempty"`
	Go            string `json:"go"`
}

func readVersion() versionInfo {
	v := versionInfo{Version: Version, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.ModuleVersion = info.Main.Path, info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Version == "dev" && v.ModuleVersion != "" && v.ModuleVersion != "(devel)" {
		v.Version = v.ModuleVersion
	}
	return v
}

func newVersionCommand() *cobra.Command {
	var out jsonOutput
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print Auger's version, module version and commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			if out.enabled {
				return out.print(cmd.OutOrStdout(), v)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, "auger", v.Version)
			if v.Module != "" {
				fmt.Fprintf(w, "module  %s %s\n", v.Module, v.ModuleVersion)
			}
			commit := v.Commit
			if commit == "" {
				commit = "unknown (built without VCS information)"
			} else if v.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(w, "commit  %s\n", commit)
			fmt.Fprintf(w, "go      %s\n", v.Go)
			return nil
		},
	}
	out.register(cmd, "the version")
	return cmd
}

// completeFlagValues teaches shell completion the values of flags that several commands
// share by name: artifact files, env config files and folders, and the fixed words.
func completeFlagValues(c *cobra.Command) {
	f := c.Flags()
	for name, exts := range map[string][]string{"artifact": {"json"}, "env-file": {"yaml", "yml"}, "config": {"yaml", "yml"}} {
		if f.Lookup(name) != nil {
			_ = c.MarkFlagFilename(name, exts...)
		}
	}
	if f.Lookup("env-dir") != nil {
		_ = c.MarkFlagDirname("env-dir")
	}
	if f.Lookup("event") != nil {
		_ = c.RegisterFlagCompletionFunc("event", cobra.FixedCompletions([]string{"push", "pr", "tag"}, cobra.ShellCompDirectiveNoFileComp))
	}
	for _, sub := range c.Commands() {
		completeFlagValues(sub)
	}
}
