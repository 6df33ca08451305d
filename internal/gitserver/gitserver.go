// Package gitserver serves bare git repositories over smart HTTP for tests, the way
// GitHub does: `git http-backend` behind net/http/cgi, with basic auth.
package gitserver

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
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
	requests atomic.Int64
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
		s.requests.Add(1)
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

// Requests counts the HTTP requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

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
