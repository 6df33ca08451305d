package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/auger-dev/auger/commands"
)

// dirGitHub serves one folder's files, or fails.
type dirGitHub struct {
	files []commands.RepoFile
	err   error
	asked []string
}

func (d *dirGitHub) ReadDir(_ context.Context, repo commands.RepoRef, sha, dir string) ([]commands.RepoFile, error) {
	d.asked = append(d.asked, repo.FullName()+"@"+sha+":"+dir)
	return d.files, d.err
}

func TestReadEnvConfigs(t *testing.T) {
	env := func(app string) string {
		return "app: " + app + "\nenv: staging\nnamespace: staging\nchart: {name: web, version: 0.1.0, repository: https://charts.example.com}\n"
	}
	file := func(name, content string) commands.RepoFile {
		return commands.RepoFile{Path: ".auger/" + name, Content: []byte(content)}
	}
	tests := map[string]struct {
		files    []commands.RepoFile
		err      error
		apps     string
		problems []string
		wantErr  error
	}{
		"yaml and yml": {
			files: []commands.RepoFile{file("a.yaml", env("api")), file("b.yml", env("web")+"---\n"+env("worker"))},
			apps:  "api,web,worker",
		},
		"other files are no env configs": {
			// JSON is YAML: read as one, notes.json would name an app.
			files: []commands.RepoFile{file("README.md", "# Env configs\n"), file("notes.json", `{"app": "old", "env": "staging", "namespace": "staging", "chart": {"name": "./c"}}`), file("a.yaml", env("api"))},
			apps:  "api",
		},
		"a broken file is a problem and the others stay": {
			files:    []commands.RepoFile{file("a.yaml", env("api")), file("b.yaml", env("web")+"replica: 2\n"), file("c.yaml", "app: [\n")},
			apps:     "api",
			problems: []string{`.auger/b.yaml:5: unknown field "replica"`, ".auger/c.yaml:"},
		},
		"one env config per app and env": {
			files:    []commands.RepoFile{file("a.yaml", env("api")), file("b.yaml", "# again\n"+env("api")+"---\n"+env("web"))},
			apps:     "api,web",
			problems: []string{`.auger/b.yaml:2: same app "api" and env "staging" as .auger/a.yaml:1`},
		},
		"too large": {
			files:    []commands.RepoFile{file("a.yaml", env("api")+"# "+strings.Repeat("x", 1<<20))},
			problems: []string{".auger/a.yaml: larger than 1048576 bytes"},
		},
		"no folder":     {err: fmt.Errorf("read .auger/: %w", commands.ErrNotFound), wantErr: commands.ErrNotFound},
		"GitHub failed": {err: commands.ErrMaybeDone, wantErr: commands.ErrMaybeDone},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh := &dirGitHub{files: tc.files, err: tc.err}
			repo := commands.RepoRef{Owner: "acme", Name: "frontend"}
			configs, problems, err := commands.ReadEnvConfigs(context.Background(), gh, repo, "abc1234")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if strings.Join(gh.asked, " ") != "acme/frontend@abc1234:.auger" {
				t.Errorf("read %v", gh.asked)
			}
			var apps []string
			for _, ec := range configs {
				apps = append(apps, ec.App)
			}
			if got := strings.Join(apps, ","); got != tc.apps {
				t.Errorf("apps = %q, want %q", got, tc.apps)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems = %v, want %d like %q", problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if got := problems[i].String(); !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want %q...", i, got, want)
				}
			}
		})
	}
}

var _ commands.EnvConfigGitHub = (*dirGitHub)(nil)

// ReadEnvConfigs keeps the order of the folder and each config's file, as recording's
// annotations and cleanups need them.
func TestReadEnvConfigsKeepsFiles(t *testing.T) {
	gh := &dirGitHub{files: []commands.RepoFile{
		{Path: ".auger/b.yaml", Content: []byte("app: b\nenv: prod\nnamespace: b\nchart: {name: ./c}\n")},
		{Path: ".auger/a.yml", Content: []byte("app: a\nenv: prod\nnamespace: a\nchart: {name: ./c}\n")},
	}}
	configs, problems, err := commands.ReadEnvConfigs(context.Background(), gh, commands.RepoRef{Owner: "o", Name: "r"}, "")
	if err != nil || len(problems) != 0 || len(configs) != 2 {
		t.Fatalf("%v %v %v", configs, problems, err)
	}
	if configs[0].File != ".auger/b.yaml" || configs[1].File != ".auger/a.yml" {
		t.Errorf("files = %s, %s", configs[0].File, configs[1].File)
	}
}
