// Package gitserver serves bare git repositories over smart HTTP for tests, the way
// GitHub does: `git http-backend` behind net/http/cgi, with basic auth.
package gitserver

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Server is a running smart-HTTP git server.
type Server struct {
	*httptest.Server
	// Root holds the bare repositories, <Root>/<name>.git.
	Root string
	// Username and Password are the credentials it accepts.
	Username string
	Password string
	// accept, when set, decides basic-auth credentials instead of Username/Password.
	accept func(user, password string) bool
}

// Start serves the bare repositories under a new temporary root until the test ends.
func Start(t testing.TB) *Server { return StartWithAuth(t, nil) }

// StartWithAuth is Start with a credential check of the test's own: GitHub accepts
// x-access-token:<installation token>, and a test passes the GitHub fake's check.
func StartWithAuth(t testing.TB, accept func(user, password string) bool) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is required for the smart-HTTP server: %v", err)
	}
	out, err := exec.Command(gitPath, "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	s := &Server{Root: t.TempDir(), Username: "x-access-token", Password: "test-token-not-secret", accept: accept}
	handler := &cgi.Handler{
		Path: backend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + s.Username,
			"HOME=" + s.Root,
		},
		InheritEnv: []string{"PATH"},
		// Rejected compare-and-swap pushes are expected in tests; keep their noise out.
		Stderr: io.Discard,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		valid := ok && user == s.Username && pass == s.Password
		if s.accept != nil {
			valid = ok && s.accept(user, pass)
		}
		if !valid {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Create makes an empty bare repository that accepts pushes and returns its URL
// (without credentials).
func (s *Server) Create(t testing.TB, name string) string {
	t.Helper()
	dir := s.Dir(name)
	run(t, "", "git", "init", "--bare", "-q", "-b", "main", dir)
	run(t, dir, "git", "config", "http.receivepack", "true")
	return s.URL + "/" + name + ".git"
}

// Dir is the bare repository's path on disk, for inspecting it with the git CLI.
func (s *Server) Dir(name string) string { return filepath.Join(s.Root, name+".git") }

// AuthURL is the repository's URL with the server's credentials embedded.
func (s *Server) AuthURL(name string) string {
	return strings.Replace(s.URL, "http://", "http://"+s.Username+":"+s.Password+"@", 1) + "/" + name + ".git"
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+os.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Populate fills the bare repository name with a generated history for benchmarks:
// folders app folders under prefix, files files in each, and commits commits (the first
// adds everything, each later one changes one file), written with `git fast-import`.
func (s *Server) Populate(t testing.TB, name, prefix string, folders, files, commits int) {
	t.Helper()
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = s.Dir(name)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	for c := 0; c < commits; c++ {
		msg := fmt.Sprintf("Change %d", c)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", 1700000000+c, len(msg), msg)
		if c == 0 {
			for f := 0; f < folders; f++ {
				for i := 0; i < files; i++ {
					data := fmt.Sprintf("kind: ConfigMap\nmetadata:\n  name: app-%03d-%03d\ndata:\n  v: \"0\"\n", f, i)
					fmt.Fprintf(w, "M 100644 inline %s/app-%03d/configmap-%03d.yaml\ndata %d\n%s\n", prefix, f, i, len(data), data)
				}
			}
		} else {
			f, i := c%folders, (c/folders)%files
			data := fmt.Sprintf("kind: ConfigMap\nmetadata:\n  name: app-%03d-%03d\ndata:\n  v: \"%d\"\n", f, i, c)
			fmt.Fprintf(w, "M 100644 inline %s/app-%03d/configmap-%03d.yaml\ndata %d\n%s\n", prefix, f, i, len(data), data)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("git fast-import: %v", err)
	}
}

// Backend is a bare repository of the server seen as the branches of a GitHub
// repository: the GitHub fake opens and merges pull requests in it.
type Backend struct {
	dir string
}

// Backend returns the repository name as a GitHub fake's git backend.
func (s *Server) Backend(name string) *Backend { return &Backend{dir: s.Dir(name)} }

func (b *Backend) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=GitHub", "GIT_AUTHOR_EMAIL=noreply@github.com",
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com")
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// Head returns a branch's commit.
func (b *Backend) Head(branch string) (string, bool) {
	sha, err := b.git("rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	return sha, err == nil && sha != ""
}

// IsAncestor tells whether a is an ancestor of b.
func (b *Backend) IsAncestor(a, c string) bool {
	_, err := b.git("merge-base", "--is-ancestor", a, c)
	return err == nil
}

// Merge merges head into base with a merge commit, as GitHub's merge button does.
func (b *Backend) Merge(base, head, message string) (string, bool, error) {
	old, ok := b.Head(base)
	if !ok {
		return "", false, fmt.Errorf("no branch %s", base)
	}
	tree, err := b.git("merge-tree", "--write-tree", old, head)
	if err != nil {
		return "", false, nil // conflicts
	}
	tree = strings.SplitN(tree, "\n", 2)[0]
	sha, err := b.git("commit-tree", tree, "-p", old, "-p", head, "-m", message)
	if err != nil {
		return "", false, fmt.Errorf("commit-tree: %w", err)
	}
	if _, err := b.git("update-ref", "refs/heads/"+base, sha, old); err != nil {
		return "", false, nil // the base moved meanwhile
	}
	return sha, true, nil
}
