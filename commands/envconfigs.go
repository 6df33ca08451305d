package commands

import (
	"context"

	"github.com/auger-dev/auger/artifact"
)

// EnvConfigGitHub is what reading env configs needs from GitHub.
type EnvConfigGitHub interface {
	// ReadDir returns the regular files directly inside dir at sha, or ErrNotFound.
	ReadDir(ctx context.Context, repo RepoRef, sha, dir string) ([]RepoFile, error)
}

// ReadEnvConfigs is Auger's one reader of the env configs a repository holds in .auger/
// at sha (the default branch when sha is empty): recording and cleanups both read them
// here, with the folder's rules of artifact.ParseEnvConfigDir (.yaml and .yml files
// only, in name order, at most 1 MiB each, one env config per app and env). Problems in
// the files are the author's to fix and come back as values, with file and line; the
// error is GitHub's, ErrNotFound when there is no .auger/ folder.
func ReadEnvConfigs(ctx context.Context, gh EnvConfigGitHub, repo RepoRef, sha string) ([]artifact.EnvConfig, []artifact.Problem, error) {
	files, err := gh.ReadDir(ctx, repo, sha, EnvConfigDir)
	if err != nil {
		return nil, nil, err
	}
	dir := make([]artifact.EnvConfigFile, 0, len(files))
	for _, f := range files {
		dir = append(dir, artifact.EnvConfigFile{Path: f.Path, Content: f.Content})
	}
	configs, problems := artifact.ParseEnvConfigDir(dir)
	return configs, problems, nil
}
