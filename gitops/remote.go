package gitops

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Remote says where a gitops repository lives and how to authenticate to it.
type Remote struct {
	// URL is a local path (created as a new repository when it does not exist), a
	// file:// URL, an https:// URL (credentials may be embedded as user:password@), or
	// an SSH URL (ssh://git@host/org/repo.git or git@host:org/repo.git).
	URL string
	// Username and Password authenticate HTTPS; GitHub serves installation tokens as
	// username "x-access-token" and the token as password.
	Username string
	Password string
	// SSHKeyFile is the private key for SSH URLs; SSHKeyPassphrase decrypts it.
	SSHKeyFile       string
	SSHKeyPassphrase string
}

// endpoint is a Remote resolved into what go-git needs, plus a redacted form for messages.
type endpoint struct {
	url      string // what go-git connects to (no credentials)
	redacted string // safe for logs and errors
	auth     transport.AuthMethod
	local    string // absolute path when the remote is a local repository
}

var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)

// resolve turns a Remote into an endpoint, creating a local repository when the remote
// is a local path that does not exist yet (the embedded default for newcomers).
func (r Remote) resolve(branch string) (endpoint, error) {
	raw := strings.TrimSpace(r.URL)
	if raw == "" {
		return endpoint{}, errors.New("gitops repository: no URL or path given")
	}
	switch {
	case strings.HasPrefix(raw, "https://"), strings.HasPrefix(raw, "http://"):
		u, err := url.Parse(raw)
		if err != nil {
			return endpoint{}, fmt.Errorf("gitops repository %s: %w", Redact(raw), redactErr(err))
		}
		user, pass := r.Username, r.Password
		if u.User != nil {
			if user == "" {
				user = u.User.Username()
			}
			if p, ok := u.User.Password(); ok && pass == "" {
				pass = p
			}
			u.User = nil
		}
		ep := endpoint{url: u.String(), redacted: u.String()}
		if user != "" || pass != "" {
			if user == "" {
				user = "x-access-token"
			}
			ep.auth = &githttp.BasicAuth{Username: user, Password: pass}
		}
		return ep, nil
	case strings.HasPrefix(raw, "ssh://"), scpLike.MatchString(raw):
		ep := endpoint{url: raw, redacted: Redact(raw)}
		if r.SSHKeyFile != "" {
			user := "git"
			if e, err := transport.NewEndpoint(raw); err == nil && e.User != "" {
				user = e.User
			}
			keys, err := gitssh.NewPublicKeysFromFile(user, r.SSHKeyFile, r.SSHKeyPassphrase)
			if err != nil {
				return endpoint{}, fmt.Errorf("gitops repository %s: read SSH key %s: %w", ep.redacted, r.SSHKeyFile, err)
			}
			ep.auth = keys
		}
		return ep, nil
	case strings.HasPrefix(raw, "file://"):
		return localEndpoint(strings.TrimPrefix(raw, "file://"), branch)
	case strings.Contains(raw, "://"):
		return endpoint{}, fmt.Errorf("gitops repository %s: unsupported URL scheme; use a local path, file://, https:// or ssh://", Redact(raw))
	default:
		return localEndpoint(raw, branch)
	}
}

// localEndpoint resolves a local repository path, creating a new repository there
// when nothing exists yet.
func localEndpoint(path, branch string) (endpoint, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return endpoint{}, fmt.Errorf("gitops repository %s: %w", path, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		if err := initLocal(abs, branch); err != nil {
			return endpoint{}, err
		}
	} else if err != nil {
		return endpoint{}, fmt.Errorf("gitops repository %s: %w", abs, err)
	}
	if _, err := git.PlainOpen(abs); err != nil {
		return endpoint{}, fmt.Errorf("gitops repository %s: not a git repository (give a new path to create one, or an existing repository)", abs)
	}
	return endpoint{url: abs, redacted: abs, local: abs}, nil
}

// initLocal creates a non-bare repository whose checked-out branch is updated by
// pushes (receive.denyCurrentBranch=updateInstead), so a newcomer sees released files.
func initLocal(path, branch string) error {
	repo, err := git.PlainInitWithOptions(path, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		return fmt.Errorf("create gitops repository %s: %w", path, err)
	}
	cfg, err := repo.Config()
	if err != nil {
		return fmt.Errorf("create gitops repository %s: %w", path, err)
	}
	cfg.Raw.Section("receive").SetOption("denyCurrentBranch", "updateInstead")
	if err := repo.SetConfig(cfg); err != nil {
		return fmt.Errorf("create gitops repository %s: %w", path, err)
	}
	return nil
}

var userinfo = regexp.MustCompile(`(://)[^/@\s]+@`)

// Redact removes credentials from a URL (and from any text holding URLs), so that
// tokens never reach logs or error messages.
func Redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}***@")
}

// redactErr wraps err so its message has credentials removed.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Redact(msg); red != msg {
		return errors.New(red)
	}
	return err
}
