package manifests

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/auger-dev/auger/artifact"
)

// sourceKind says where a chart comes from.
type sourceKind int

const (
	sourceLocal sourceKind = iota
	sourceHTTP
	sourceOCI
	sourceGit
)

// localSource is the allow-list entry that permits local chart directories.
const localSource = "local"

// source is a parsed artifact.Chart.
type source struct {
	kind sourceKind
	// origin is what the allow-list is checked against and what the cache is keyed on:
	// the repository URL without trailing slash (HTTP, OCI), the git URL without query,
	// or "local".
	origin string
	// name is the chart name (HTTP, OCI), the directory inside the git repository
	// ("." for its root) or the local path.
	name string
	// version is the chart version (HTTP, OCI) or the git ref ("" for HEAD).
	version string
}

// parseSource tells the four kinds of chart source apart; see artifact.Chart.
func parseSource(c artifact.Chart) (source, error) {
	if c.Name == "" {
		return source{}, errors.New("chart has no name")
	}
	repo := strings.TrimSuffix(c.Repository, "/")
	switch {
	case strings.HasPrefix(repo, "oci://"), strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"):
		if c.Version == "" {
			return source{}, fmt.Errorf("chart %s from %s has no version: name an exact version", c.Name, repo)
		}
		if strings.ContainsAny(c.Name, "/:?#") || c.Name == "." || c.Name == ".." {
			return source{}, fmt.Errorf("chart name %q is not a chart name", c.Name)
		}
		if _, err := url.Parse(repo); err != nil {
			return source{}, fmt.Errorf("chart repository: %w", err)
		}
		kind := sourceHTTP
		if strings.HasPrefix(repo, "oci://") {
			kind = sourceOCI
		}
		return source{kind: kind, origin: repo, name: c.Name, version: c.Version}, nil
	case repo != "":
		return source{}, fmt.Errorf("chart repository %q: want https://, http:// or oci://", c.Repository)
	case strings.Contains(c.Name, "://"):
		return parseGitSource(c)
	default:
		return source{kind: sourceLocal, origin: localSource, name: c.Name}, nil
	}
}

// parseGitSource parses https://host/org/repo.git?path=charts/x&ref=v1; chart.Version
// stands in for a missing ref.
func parseGitSource(c artifact.Chart) (source, error) {
	u, err := url.Parse(c.Name)
	if err != nil {
		return source{}, fmt.Errorf("git chart URL: %w", err)
	}
	switch u.Scheme {
	case "https", "http", "file":
	default:
		return source{}, fmt.Errorf("git chart URL %s: scheme %q is not supported (want https, http or file)", c.Name, u.Scheme)
	}
	q := u.Query()
	dir := path.Clean("/" + q.Get("path"))[1:] // rooted Clean drops any ".."
	if dir == "" {
		dir = "."
	}
	if q.Get("path") != "" && path.Clean(q.Get("path")) != dir {
		return source{}, fmt.Errorf("git chart URL %s: path %q must be relative and stay inside the repository", c.Name, q.Get("path"))
	}
	ref := q.Get("ref")
	if ref == "" {
		ref = c.Version
	}
	u.RawQuery, u.Fragment = "", ""
	return source{kind: sourceGit, origin: u.String(), name: dir, version: ref}, nil
}

// String names the chart in messages: "onechart 0.10.0", "examples/charts/web",
// "https://host/org/repo.git?path=charts/web&ref=v1".
func (s source) String() string {
	switch s.kind {
	case sourceLocal:
		return s.name
	case sourceGit:
		var q []string
		if s.name != "." {
			q = append(q, "path="+s.name)
		}
		if s.version != "" {
			q = append(q, "ref="+s.version)
		}
		if len(q) == 0 {
			return s.origin
		}
		return s.origin + "?" + strings.Join(q, "&")
	default:
		return s.name + " " + s.version
	}
}

// describe names a chart that could not be parsed.
func describe(c artifact.Chart) string {
	return strings.TrimSpace(strings.Join([]string{c.Repository, c.Name, c.Version}, " "))
}

// cacheKey identifies a remote chart in the caches.
func (s source) cacheKey() string {
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s", s.kind, s.origin, s.name, s.version)
}

// checkAllowed refuses a source the allow-list does not name.
func (r *Renderer) checkAllowed(s source) error {
	if len(r.allowed) == 0 {
		return nil
	}
	if s.kind == sourceLocal {
		for _, a := range r.allowed {
			if a == localSource {
				return nil
			}
		}
		return errors.New("local chart directories are not allowed here")
	}
	return r.checkAllowedURL(s.origin)
}

// checkAllowedURL refuses a URL that no allow-list entry matches.
func (r *Renderer) checkAllowedURL(u string) error {
	if len(r.allowed) == 0 {
		return nil
	}
	for _, a := range r.allowed {
		if a != localSource && allowedBy(a, u) {
			return nil
		}
	}
	return fmt.Errorf("chart source %s is not in the allowed chart sources", u)
}

// allowedBy reports whether entry (a prefix or a glob) matches u.
func allowedBy(entry, u string) bool {
	if !strings.ContainsAny(entry, "*?[") {
		prefix := strings.TrimSuffix(entry, "/")
		return u == prefix || strings.HasPrefix(u, prefix+"/") ||
			strings.HasPrefix(u, prefix+"?") // git URLs with a query, chart URLs
	}
	// A glob matches the whole URL or one of its prefixes ending before a "/".
	for i := len(u); i > 0; i = strings.LastIndexByte(u[:i], '/') {
		if ok, _ := path.Match(entry, u[:i]); ok && !strings.HasSuffix(u[:i], "/") {
			return true
		}
	}
	return false
}
