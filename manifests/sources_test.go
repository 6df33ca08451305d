package manifests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	lru "github.com/hashicorp/golang-lru/v2"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/chartrepo"
)

func serveCharts(t testing.TB, dirs ...string) (*httptest.Server, *chartrepo.Counter) {
	t.Helper()
	return chartrepo.Serve(t, dirs...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noNetwork is an HTTP client that fails the test on any request.
func noNetwork(t testing.TB) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return nil, errors.New("no network in this test")
	})}
}

func TestHTTPRepository(t *testing.T) {
	srv, counter := serveCharts(t, "../examples/charts/web")
	cache := t.TempDir()
	ec := webEnv(artifact.Chart{Repository: srv.URL + "/", Name: "web", Version: "0.1.0"})

	cold, err := newRenderer(t, Options{CacheDir: cache}).Render(context.Background(), ec, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if got := counter.Paths(); !reflect.DeepEqual(got, []string{"GET /index.yaml", "GET /web-0.1.0.tgz"}) {
		t.Errorf("cold render requests = %q", got)
	}
	local, err := newRenderer(t, Options{}).Render(context.Background(), webEnv(localWeb), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cold, local) {
		t.Error("the packaged chart renders differently from its directory")
	}

	counter.Reset()
	warm := newRenderer(t, Options{CacheDir: cache, HTTPClient: noNetwork(t)}) // fresh memory cache, warm disk cache
	for range 2 {
		files, err := warm.Render(context.Background(), ec, testRelease)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(files, cold) {
			t.Error("warm render differs from cold render")
		}
	}
	if n := counter.Requests(); n != 0 {
		t.Errorf("warm renders made %d requests", n)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".tgz") {
		t.Errorf("cache holds %v, want one .tgz and no temporary files", entries)
	}
}

func TestHTTPRepositoryRelativeURLAndMissingVersion(t *testing.T) {
	_, archive, _ := chartrepo.Package(t, "../examples/charts/web")
	srv, counter := chartrepo.ServeArchive(t, "web", "0.1.0", archive)
	r := newRenderer(t, Options{})
	if _, err := r.Render(context.Background(), webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}), testRelease); err != nil {
		t.Fatal(err)
	}
	if got := counter.Paths(); !reflect.DeepEqual(got, []string{"GET /index.yaml", "GET /charts/web-0.1.0.tgz"}) {
		t.Errorf("requests = %q", got)
	}
	_, err := r.Render(context.Background(), webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.2.0"}), testRelease)
	if err == nil || !strings.Contains(err.Error(), "chart web has no version 0.2.0 in "+srv.URL+"/index.yaml (versions include 0.1.0)") {
		t.Errorf("err = %v", err)
	}
	_, err = r.Render(context.Background(), webEnv(artifact.Chart{Repository: srv.URL, Name: "api", Version: "0.1.0"}), testRelease)
	if err == nil || !strings.Contains(err.Error(), "chart api is not in") {
		t.Errorf("err = %v", err)
	}
}

func TestOCIRegistry(t *testing.T) {
	srv, counter := chartrepo.ServeOCI(t, "../examples/charts/web")
	cache := t.TempDir()
	ec := webEnv(artifact.Chart{Repository: "oci://" + srv.Listener.Addr().String() + "/charts", Name: "web", Version: "0.1.0"})
	files, err := newRenderer(t, Options{CacheDir: cache, HTTPClient: srv.Client()}).Render(context.Background(), ec, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if counter.Requests() == 0 {
		t.Fatal("no request reached the registry")
	}
	local, err := newRenderer(t, Options{}).Render(context.Background(), webEnv(localWeb), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, local) {
		t.Error("the OCI chart renders differently from its directory")
	}
	counter.Reset()
	if _, err := newRenderer(t, Options{CacheDir: cache, HTTPClient: noNetwork(t)}).Render(context.Background(), ec, testRelease); err != nil {
		t.Fatal(err)
	}
	if n := counter.Requests(); n != 0 {
		t.Errorf("warm render made %d requests", n)
	}

	ec.Chart.Version = "9.9.9"
	_, err = newRenderer(t, Options{HTTPClient: srv.Client()}).Render(context.Background(), ec, testRelease)
	if err == nil || !strings.Contains(err.Error(), "pull "+ec.Chart.Repository+"/web:9.9.9") {
		t.Errorf("err = %v", err)
	}
}

// gitRepo builds a repository holding the example chart at charts/web, tagged v1
// (annotated) and v1-light, then a second commit on master that changes the chart's
// default replicas. It returns the file:// URL and the first commit.
func gitRepo(t *testing.T) (string, plumbing.Hash) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	copyDir(t, "../examples/charts/web", filepath.Join(dir, "charts", "web"))
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: time.Unix(1700000000, 0)}
	commit := func(msg string) plumbing.Hash {
		if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit(msg, &git.CommitOptions{Author: sig})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := commit("chart")
	if _, err := repo.CreateTag("v1", first, &git.CreateTagOptions{Tagger: sig, Message: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateTag("v1-light", first, nil); err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(dir, "charts", "web", "values.yaml")
	data, _ := os.ReadFile(values)
	if err := os.WriteFile(values, bytes.Replace(data, []byte("replicas: 1"), []byte("replicas: 5"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "charts", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts", "linked", "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "charts", "linked", "Chart.yaml"), []byte("apiVersion: v2\nname: linked\nversion: 1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "charts", "linked", "templates", "passwd.yaml")); err != nil {
		t.Fatal(err)
	}
	commit("more replicas")
	return "file://" + dir, first
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGitSource(t *testing.T) {
	url, first := gitRepo(t)
	cache := t.TempDir()
	r := newRenderer(t, Options{CacheDir: cache})
	replicas := func(name string) any {
		ec := webEnv(artifact.Chart{Name: name})
		delete(ec.Values, "replicas")
		files, err := r.Render(context.Background(), ec, testRelease)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return get(objects(t, files)["deployment-frontend.yaml"], "spec", "replicas")
	}
	tests := map[string]any{
		url + "?path=charts/web&ref=v1":                 float64(1),
		url + "?path=charts/web&ref=v1-light":           float64(1),
		url + "?path=charts/web&ref=refs/tags/v1":       float64(1),
		url + "?path=charts/web&ref=" + first.String():  float64(1),
		url + "?path=charts/web&ref=master":             float64(5),
		url + "?path=charts/web":                        float64(5),
		url + "?ref=master&path=charts/web/&unknown=ok": float64(5),
	}
	for name, want := range tests {
		if got := replicas(name); got != want {
			t.Errorf("%s: replicas = %v, want %v", name, got, want)
		}
	}

	for name, want := range map[string]string{
		url + "?path=charts/web&ref=nope":                 `ref "nope" not found`,
		url + "?path=charts/linked&ref=master":            "charts/linked at ", // names the commit, then:
		url + "?path=charts/linked&ref=refs/heads/master": "templates/passwd.yaml is a symlink",
		url + "?path=charts/none&ref=master":              "charts/none at",
	} {
		_, err := r.Render(context.Background(), webEnv(artifact.Chart{Name: name}), testRelease)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}

	// A warm cache needs no repository at all.
	if err := os.RemoveAll(strings.TrimPrefix(url, "file://")); err != nil {
		t.Fatal(err)
	}
	warm := newRenderer(t, Options{CacheDir: cache})
	if _, err := warm.Render(context.Background(), webEnv(artifact.Chart{Name: url + "?path=charts/web&ref=v1"}), testRelease); err != nil {
		t.Errorf("warm render: %v", err)
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tgz") {
			t.Errorf("cache holds %s: temporary files were left behind", e.Name())
		}
	}
}

func TestAllowedSources(t *testing.T) {
	srv, counter := serveCharts(t, "../examples/charts/web")
	tests := map[string]struct {
		allowed []string
		chart   artifact.Chart
		err     string // "" when allowed
	}{
		"empty allows all":            {nil, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, ""},
		"prefix":                      {[]string{srv.URL}, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, ""},
		"prefix with slash":           {[]string{srv.URL + "/"}, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, ""},
		"glob":                        {[]string{"http://127.0.0.1:*"}, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, ""},
		"other host":                  {[]string{"https://charts.example.com"}, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, "chart source " + srv.URL + " is not in the allowed chart sources"},
		"prefix is not a host prefix": {[]string{srv.URL[:len(srv.URL)-1]}, artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}, "is not in the allowed"},
		"metadata endpoint":           {[]string{"https://charts.example.com"}, artifact.Chart{Repository: "http://169.254.169.254/latest", Name: "x", Version: "1"}, "chart source http://169.254.169.254/latest is not in the allowed chart sources"},
		"git":                         {[]string{"https://github.com/myorg/*"}, artifact.Chart{Name: "https://github.com/other/charts.git?path=x"}, "chart source https://github.com/other/charts.git is not in the allowed"},
		"file git":                    {[]string{"https://github.com/myorg/*"}, artifact.Chart{Name: "file:///etc?path=x"}, "chart source file:///etc is not in the allowed"},
		"oci":                         {[]string{"oci://ghcr.io/myorg/"}, artifact.Chart{Repository: "oci://ghcr.io/other", Name: "web", Version: "1"}, "chart source oci://ghcr.io/other is not in the allowed"},
		"local refused":               {[]string{srv.URL}, localWeb, "local chart directories are not allowed here"},
		"local allowed":               {[]string{"local"}, localWeb, ""},
		"local must stay in workdir":  {[]string{"local"}, artifact.Chart{Name: "../outside"}, "must be a relative path inside the work directory"},
		"local absolute":              {[]string{"local"}, artifact.Chart{Name: "/etc"}, "must be a relative path inside the work directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			counter.Reset()
			r := newRenderer(t, Options{AllowedSources: tc.allowed})
			_, err := r.Render(context.Background(), webEnv(tc.chart), testRelease)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if n := counter.Requests(); n != 0 {
				t.Errorf("a refused source made %d requests", n)
			}
		})
	}

	if _, err := NewRenderer(Options{AllowedSources: []string{"https://[x"}}); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func TestAllowedChartURL(t *testing.T) {
	// An allowed repository whose index points elsewhere.
	_, archive, _ := chartrepo.Package(t, "../examples/charts/web")
	other, otherCounter := chartrepo.ServeArchive(t, "web", "0.1.0", archive)
	index := strings.ReplaceAll(`apiVersion: v1
entries:
  web:
  - apiVersion: v2
    name: web
    version: 0.1.0
    urls: [OTHER/charts/web-0.1.0.tgz]
`, "OTHER", other.URL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(index)) }))
	defer srv.Close()
	ec := webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"})

	_, err := newRenderer(t, Options{AllowedSources: []string{srv.URL}}).Render(context.Background(), ec, testRelease)
	if err == nil || !strings.Contains(err.Error(), "chart source "+other.URL+"/charts/web-0.1.0.tgz is not in the allowed") {
		t.Errorf("err = %v", err)
	}
	if otherCounter.Requests() != 0 {
		t.Error("the refused chart URL was fetched")
	}
	if _, err := newRenderer(t, Options{AllowedSources: []string{srv.URL, other.URL}}).Render(context.Background(), ec, testRelease); err != nil {
		t.Error(err)
	}
}

func TestLocalConfinedRefusesSymlinks(t *testing.T) {
	work := t.TempDir()
	copyDir(t, "../examples/charts/web", filepath.Join(work, "web"))
	if err := os.Symlink("/etc/hostname", filepath.Join(work, "web", "templates", "host.yaml")); err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, Options{WorkDir: work, AllowedSources: []string{"local"}})
	_, err := r.Render(context.Background(), webEnv(artifact.Chart{Name: "web"}), testRelease)
	if err == nil || !strings.Contains(err.Error(), "web/templates/host.yaml is not a regular file") {
		t.Errorf("err = %v", err)
	}
	if err := os.Remove(filepath.Join(work, "web", "templates", "host.yaml")); err != nil {
		t.Fatal(err)
	}
	files, err := r.Render(context.Background(), webEnv(artifact.Chart{Name: "web"}), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	helm, err := newRenderer(t, Options{WorkDir: work}).Render(context.Background(), webEnv(artifact.Chart{Name: "web"}), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, helm) {
		t.Error("the confined loader reads the chart differently from Helm's")
	}
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	hdr  tar.Header
	data []byte
}

func archiveOf(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.data))
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHostileArchives(t *testing.T) {
	chartYAML := tarEntry{hdr: tar.Header{Name: "web/Chart.yaml"}, data: []byte("apiVersion: v2\nname: web\nversion: 0.1.0\n")}
	tmpl := tarEntry{hdr: tar.Header{Name: "web/templates/cm.yaml"}, data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")}
	zeros := func(n int) []byte { return make([]byte, n) }
	tests := map[string]struct {
		archive []byte
		limits  func(r *Renderer)
		err     string
	}{
		"valid": {archive: archiveOf(t, chartYAML, tmpl)},
		"symlink": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/templates/passwd.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}),
			err:     `entry "web/templates/passwd.yaml" is a link (to "/etc/passwd")`,
		},
		"hard link": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/templates/x.yaml", Typeflag: tar.TypeLink, Linkname: "web/Chart.yaml"}}),
			err:     "is a link",
		},
		"device": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/templates/null", Typeflag: tar.TypeChar}}),
			err:     "charts may hold regular files only",
		},
		"parent directory": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/../../etc/cron.d/x"}, data: []byte("x")}),
			err:     `entry "web/../../etc/cron.d/x" leaves the chart directory`,
		},
		"dot dot inside": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/templates/../x.yaml"}, data: []byte("x")}),
			err:     "leaves the chart directory",
		},
		"absolute path": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "/etc/passwd"}, data: []byte("x")}),
			err:     "leaves the chart directory",
		},
		"compressed too large": {
			archive: archiveOf(t, chartYAML, tmpl),
			limits:  func(r *Renderer) { r.maxArchive = 100 },
			err:     "chart archive is too large",
		},
		"gzip bomb": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/a"}, data: zeros(3 << 20)}, tarEntry{hdr: tar.Header{Name: "web/b"}, data: zeros(3 << 20)}),
			limits:  func(r *Renderer) { r.maxUncompressed = 4 << 20 },
			err:     "uncompressed chart is too large",
		},
		"file over Helm's 5 MiB": {
			archive: archiveOf(t, chartYAML, tarEntry{hdr: tar.Header{Name: "web/big"}, data: zeros(6 << 20)}),
			err:     `entry "web/big" is too large`,
		},
		"not gzip": {
			archive: []byte("apiVersion: v1\n"),
			err:     "not a gzipped tar archive",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := newRenderer(t, Options{})
			if tc.limits != nil {
				tc.limits(r)
			}
			_, err := r.readArchive(tc.archive)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if tc.limits == nil && !errors.Is(err, errTooLarge) && strings.Contains(tc.err, "too large") {
				t.Errorf("err = %v does not wrap errTooLarge", err)
			}
		})
	}
}

func TestHostileArchiveOverHTTP(t *testing.T) {
	evil := archiveOf(t,
		tarEntry{hdr: tar.Header{Name: "web/Chart.yaml"}, data: []byte("apiVersion: v2\nname: web\nversion: 0.1.0\n")},
		tarEntry{hdr: tar.Header{Name: "web/templates/passwd.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}})
	srv, _ := chartrepo.ServeArchive(t, "web", "0.1.0", evil)
	cache := t.TempDir()
	r := newRenderer(t, Options{CacheDir: cache})
	_, err := r.Render(context.Background(), webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"}), testRelease)
	want := "render chart web 0.1.0 for frontend/staging: chart archive: entry \"web/templates/passwd.yaml\" is a link"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("a refused archive was cached: %v", entries)
	}

	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.yaml" {
			_, _ = w.Write([]byte("apiVersion: v1\nentries:\n  web:\n  - {apiVersion: v2, name: web, version: 0.1.0, urls: [web.tgz]}\n"))
			return
		}
		w.Header().Set("Transfer-Encoding", "chunked") // no Content-Length: the reader must stop
		for range 30 {
			_, _ = w.Write(make([]byte, 1<<20))
		}
	}))
	defer big.Close()
	_, err = r.Render(context.Background(), webEnv(artifact.Chart{Repository: big.URL, Name: "web", Version: "0.1.0"}), testRelease)
	if !errors.Is(err, errTooLarge) {
		t.Errorf("err = %v, want a size error", err)
	}
}

func TestAllowedBy(t *testing.T) {
	tests := []struct {
		entry, url string
		want       bool
	}{
		{"https://charts.example.com", "https://charts.example.com", true},
		{"https://charts.example.com", "https://charts.example.com/sub/web.tgz", true},
		{"https://charts.example.com", "https://charts.example.com.evil.net", false},
		{"https://charts.example.com/", "https://charts.example.com/x", true},
		{"https://github.com/myorg/*", "https://github.com/myorg/charts.git", true},
		{"https://github.com/myorg/*", "https://github.com/myorg/charts.git/deeper", true},
		{"https://github.com/myorg/*", "https://github.com/myorgx/charts.git", false},
		{"https://*.github.io", "https://myorg.github.io/charts", true},
		{"https://*.github.io", "https://evil.com/x.github.io", false},
		{"oci://ghcr.io/myorg/", "oci://ghcr.io/myorg/charts", true},
		{"oci://ghcr.io/myorg/", "oci://ghcr.io/myorganisation", false},
	}
	for _, tc := range tests {
		if got := allowedBy(tc.entry, tc.url); got != tc.want {
			t.Errorf("allowedBy(%q, %q) = %v, want %v", tc.entry, tc.url, got, tc.want)
		}
	}
}

func BenchmarkRenderWarm(b *testing.B) {
	srv, counter := chartrepo.Serve(b, "../examples/charts/web")
	r := newRenderer(b, Options{})
	ec := webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"})
	if _, err := r.Render(context.Background(), ec, testRelease); err != nil {
		b.Fatal(err)
	}
	counter.Reset()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(context.Background(), ec, testRelease); err != nil {
			b.Fatal(err)
		}
	}
	if n := counter.Requests(); n != 0 {
		b.Errorf("warm renders made %d requests", n)
	}
}

func BenchmarkRenderLocal(b *testing.B) {
	r := newRenderer(b, Options{})
	ec := webEnv(localWeb)
	for b.Loop() {
		if _, err := r.Render(context.Background(), ec, testRelease); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrentColdRenders(t *testing.T) {
	srv, counter := serveCharts(t, "../examples/charts/web")
	r := newRenderer(t, Options{})
	ec := webEnv(artifact.Chart{Repository: srv.URL, Name: "web", Version: "0.1.0"})
	want, err := newRenderer(t, Options{}).Render(context.Background(), ec, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			files, err := r.Render(context.Background(), ec, testRelease)
			if err == nil && !reflect.DeepEqual(files, want) {
				err = errors.New("concurrent render differs")
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := counter.Requests(); got != 2 {
		t.Errorf("%d concurrent cold renders made %d requests, want 2 (one fetch)", n, got)
	}
}

// The memory cache keeps the charts used last: with room for two, rendering A, B, A
// and C evicts B, not A, whatever order a map would give.
func TestMemoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	r := newRenderer(t, Options{})
	mem, err := lru.New[string, []*loader.BufferedFile](2)
	if err != nil {
		t.Fatal(err)
	}
	r.mem = mem
	charts := map[string]artifact.EnvConfig{}
	for _, name := range []string{"a", "b", "c"} {
		srv, _ := serveCharts(t, "../examples/charts/web")
		charts[name] = webEnv(artifact.Chart{Repository: srv.URL + "/", Name: "web", Version: "0.1.0"})
	}
	for _, name := range []string{"a", "b", "a", "c"} {
		if _, err := r.Render(context.Background(), charts[name], testRelease); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
	}
	// Without the disk cache and the network, only what memory holds renders.
	if err := os.RemoveAll(r.cacheDir); err != nil {
		t.Fatal(err)
	}
	r.client = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline")
	})}
	for name, want := range map[string]bool{"a": true, "b": false, "c": true} {
		_, err := r.Render(context.Background(), charts[name], testRelease)
		if got := err == nil; got != want {
			t.Errorf("chart %s in memory = %v (%v), want %v", name, got, err, want)
		}
	}
}
