package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/spf13/cobra"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/internal/text"
)

func newArtifactCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "artifact", Short: "Create and extend release artifacts (from CI)"}
	cmd.AddCommand(newArtifactCreateCommand(), newArtifactAddCommand(), newArtifactPushCommand(), newArtifactIDCommand())
	return cmd
}

func newArtifactCreateCommand() *cobra.Command {
	var (
		v   artifact.Version
		out string
	)
	cmd := &cobra.Command{
		Use:   "create [--repository owner/name --sha SHA --branch B --event push|pr|tag ...] [--out artifact.json]",
		Short: "Create a release artifact for this commit",
		Long: "Create a release artifact. Version fields default from the CI environment (GitHub Actions,\n" +
			"CircleCI, GitLab CI, generic CI_* variables), then from the git repository in the working\n" +
			"directory; flags override both. The context holds the allow-listed CI variables; anything\n" +
			"that looks like a secret is dropped.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			detected, ctx := artifact.FromCI(os.Environ())
			if err := fillFromGitHubEvent(&detected); err != nil {
				return err
			}
			fillFromGit(&detected)
			f := cmd.Flags()
			merge := func(flag string, dst *string, val string) {
				if f.Changed(flag) {
					*dst = val
				}
			}
			merge("repository", &detected.RepositoryName, v.RepositoryName)
			merge("sha", &detected.SHA, v.SHA)
			merge("branch", &detected.Branch, v.Branch)
			merge("source-branch", &detected.SourceBranch, v.SourceBranch)
			merge("target-branch", &detected.TargetBranch, v.TargetBranch)
			merge("tag", &detected.Tag, v.Tag)
			merge("author-name", &detected.AuthorName, v.AuthorName)
			merge("author-email", &detected.AuthorEmail, v.AuthorEmail)
			merge("committer-name", &detected.CommitterName, v.CommitterName)
			merge("committer-email", &detected.CommitterEmail, v.CommitterEmail)
			merge("message", &detected.Message, v.Message)
			merge("url", &detected.URL, v.URL)
			if f.Changed("event") {
				detected.Event = v.Event
			}
			a := artifact.New(detected, ctx)
			if err := a.Validate(); err != nil {
				return fmt.Errorf("artifact: %w (set the missing fields with flags, see --help)", err)
			}
			if err := writeArtifact(out, a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created artifact %s for %s %s (%s) in %s\n", a.ID, a.Version.RepositoryName, text.Short(a.Version.SHA), a.Version.Event, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&v.RepositoryName, "repository", "", "repository as owner/name")
	f.StringVar(&v.SHA, "sha", "", "commit sha")
	f.StringVar(&v.Branch, "branch", "", "branch")
	f.StringVar((*string)(&v.Event), "event", "", "what made the commit releasable: push, pr or tag")
	f.StringVar(&v.SourceBranch, "source-branch", "", "pull request source branch")
	f.StringVar(&v.TargetBranch, "target-branch", "", "pull request target branch")
	f.StringVar(&v.Tag, "tag", "", "tag")
	f.StringVar(&v.AuthorName, "author-name", "", "commit author name")
	f.StringVar(&v.AuthorEmail, "author-email", "", "commit author email")
	f.StringVar(&v.CommitterName, "committer-name", "", "committer name")
	f.StringVar(&v.CommitterEmail, "committer-email", "", "committer email")
	f.StringVar(&v.Message, "message", "", "commit message")
	f.StringVar(&v.URL, "url", "", "link to the commit or pull request")
	f.StringVar(&out, "out", "artifact.json", "file to write")
	return cmd
}

// githubEvent is the part of a GitHub Actions event payload ($GITHUB_EVENT_PATH) that
// the variables lack.
type githubEvent struct {
	PullRequest *struct {
		HTMLURL string `json:"html_url"`
		Head    struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	HeadCommit *struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		Author    struct{ Name, Email string }
		Committer struct{ Name, Email string }
	} `json:"head_commit"`
}

// fillFromGitHubEvent corrects and completes a GitHub Actions version from the event
// payload: on pull_request events GITHUB_SHA is the test merge commit, which no one
// releases; the pull request's head is the commit, and the payload names it. On pushes the
// payload has the commit's message and people.
func fillFromGitHubEvent(v *artifact.Version) error {
	path := os.Getenv("GITHUB_EVENT_PATH")
	if os.Getenv("GITHUB_ACTIONS") != "true" || path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("GITHUB_EVENT_PATH: %w", err)
	}
	var ev githubEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: not a GitHub event payload: %w", path, err)
	}
	if pr := ev.PullRequest; pr != nil && v.Event == artifact.EventPR && pr.Head.SHA != "" {
		v.SHA = pr.Head.SHA
		if pr.HTMLURL != "" {
			v.URL = pr.HTMLURL
		}
	}
	if hc := ev.HeadCommit; hc != nil && hc.ID == v.SHA {
		v.Message = strings.TrimSpace(hc.Message)
		v.AuthorName, v.AuthorEmail = hc.Author.Name, hc.Author.Email
		v.CommitterName, v.CommitterEmail = hc.Committer.Name, hc.Committer.Email
	}
	return nil
}

// fillFromGit completes what CI did not say from the repository in the working directory.
func fillFromGit(v *artifact.Version) {
	repo, err := git.PlainOpenWithOptions(".", &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return
	}
	head, err := repo.Head()
	if err != nil {
		return
	}
	if v.SHA == "" {
		v.SHA = head.Hash().String()
	}
	if v.Branch == "" && head.Name().IsBranch() {
		v.Branch = head.Name().Short()
	}
	if v.Event == "" {
		v.Event = artifact.EventPush
	}
	if c, err := repo.CommitObject(head.Hash()); err == nil && c.Hash.String() == v.SHA {
		if v.AuthorName == "" {
			v.AuthorName, v.AuthorEmail = c.Author.Name, c.Author.Email
		}
		if v.CommitterName == "" {
			v.CommitterName, v.CommitterEmail = c.Committer.Name, c.Committer.Email
		}
		if v.Message == "" {
			v.Message = strings.TrimSpace(c.Message)
		}
	}
}

func newArtifactAddCommand() *cobra.Command {
	var (
		in, out, envDir string
		envFiles, items []string
		vars            []string
	)
	cmd := &cobra.Command{
		Use:   "add [--env-dir .auger] [--env-file .auger/x.yaml] [--var k=v] [--item name=url] [--artifact artifact.json]",
		Short: "Add env configs, context variables and links to an artifact",
		Long: "Add env configs, context variables and links to an artifact. --env-dir reads a folder of env\n" +
			"configs with the server's rules (its .yaml and .yml files, in name order; other files are not\n" +
			"env configs; every problem at once, with file and line); --env-file adds single files after it.\n" +
			"An env config replaces the artifact's one for the same app and env.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := readArtifact(in)
			if err != nil {
				return err
			}
			if envDir != "" {
				configs, err := artifact.LoadEnvConfigDir(envDir)
				if err != nil {
					return err
				}
				for _, ec := range configs {
					a.Environments = replaceEnvConfig(a.Environments, ec)
				}
			}
			for _, file := range envFiles {
				data, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("read env config: %w", err)
				}
				configs, err := artifact.ParseEnvConfigs(file, data)
				if err != nil {
					return err
				}
				for _, ec := range configs {
					a.Environments = replaceEnvConfig(a.Environments, ec)
				}
			}
			for _, kv := range vars {
				k, val, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--var %q: want name=value", kv)
				}
				if artifact.IsSecretName(k) {
					return fmt.Errorf("--var %s: looks like a secret; artifacts are visible to everyone who can read the repository, so secrets never go in them", k)
				}
				if a.Context == nil {
					a.Context = map[string]string{}
				}
				a.Context[k] = val
			}
			for _, kv := range items {
				name, url, ok := strings.Cut(kv, "=")
				if !ok || name == "" || url == "" {
					return fmt.Errorf("--item %q: want name=url", kv)
				}
				a.Items = append(a.Items, artifact.Item{Name: name, URL: url})
			}
			if err := a.Validate(); err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			if out == "" {
				out = in
			}
			if err := writeArtifact(out, a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "artifact %s: %d env configs, %d context variables, %d items, in %s\n", a.ID, len(a.Environments), len(a.Context), len(a.Items), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "artifact", "artifact.json", "artifact file to extend")
	f.StringVar(&out, "out", "", "file to write (default: the --artifact file)")
	f.StringVar(&envDir, "env-dir", "", "folder of env configs (.auger), read as the server reads it")
	f.StringArrayVar(&envFiles, "env-file", nil, "env config file (.auger/*.yaml); repeatable")
	f.StringArrayVar(&vars, "var", nil, "context variable name=value; repeatable")
	f.StringArrayVar(&items, "item", nil, "link name=url; repeatable")
	return cmd
}

// replaceEnvConfig adds ec, replacing an existing config for the same app and env.
func replaceEnvConfig(list []artifact.EnvConfig, ec artifact.EnvConfig) []artifact.EnvConfig {
	for i, cur := range list {
		if cur.App == ec.App && cur.Env == ec.Env {
			list[i] = ec
			return list
		}
	}
	return append(list, ec)
}

func writeArtifact(path string, a *artifact.Artifact) error {
	data, err := a.Marshal()
	if err != nil {
		return err
	}
	if path == "" {
		return errors.New("--out: no file given")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	return nil
}

func newArtifactPushCommand() *cobra.Command {
	var in, tokenEnv, apiURL string
	cmd := &cobra.Command{
		Use:   "push [--artifact artifact.json]",
		Short: "Upload an artifact from CI as the check run \"Auger: artifact upload\" on its commit",
		Long: "Upload an artifact from CI. The token (GITHUB_TOKEN in GitHub Actions, with checks: write)\n" +
			"creates the check run \"Auger: artifact upload\"; the Auger server validates it and records\n" +
			"\"Auger: artifact\" from it once CI passes. The API URL defaults to GITHUB_API_URL.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := readArtifact(in)
			if err != nil {
				return err
			}
			token := os.Getenv(tokenEnv)
			if token == "" {
				return fmt.Errorf("no token: set %s (in GitHub Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}, with permissions: checks: write)", tokenEnv)
			}
			if apiURL == "" {
				apiURL = os.Getenv("GITHUB_API_URL")
			}
			gh, err := githubapi.NewTokenClient(apiURL, token, nil)
			if err != nil {
				return err
			}
			cr, err := commands.Upload(cmd.Context(), gh, a)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "uploaded artifact %s to %s@%s: %s\n", a.ID, a.Version.RepositoryName, text.Short(a.Version.SHA), cr.HTMLURL)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "artifact", "artifact.json", "artifact file to upload")
	cmd.Flags().StringVar(&tokenEnv, "token-env", "GITHUB_TOKEN", "environment variable holding the GitHub token")
	cmd.Flags().StringVar(&apiURL, "api-url", "", "GitHub REST API base (default: $GITHUB_API_URL, else GitHub.com)")
	return cmd
}

// newArtifactIDCommand prints an artifact file's id, for CI scripts that pass it on
// (the GitHub Action's artifact-id output) without a JSON parser.
func newArtifactIDCommand() *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "id [--artifact artifact.json]",
		Short: "Print the id of an artifact file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := readArtifact(in)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), a.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "artifact", "artifact.json", "artifact file")
	return cmd
}
