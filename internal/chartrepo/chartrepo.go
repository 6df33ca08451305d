// Package chartrepo serves Helm charts to tests the way users' charts are served: a chart
// repository over HTTP (index.yaml plus packaged charts) and an OCI registry over HTTPS.
// Every server counts the requests it receives, so a test can prove that a warm cache
// makes none.
package chartrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// Counter counts the requests a test server received.
type Counter struct {
	n     atomic.Int64
	mu    sync.Mutex
	paths []string
}

// Requests returns how many requests the server received so far.
func (c *Counter) Requests() int { return int(c.n.Load()) }

// Paths returns the method and path of every request received so far, in order.
func (c *Counter) Paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.paths...)
}

// Reset sets the count back to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n.Store(0)
	c.paths = nil
}

func (c *Counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		c.mu.Lock()
		c.paths = append(c.paths, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Package packages the chart directory dir like `helm package` and returns the archive's
// file name (<name>-<version>.tgz), its bytes and the chart's metadata.
func Package(t testing.TB, dir string) (string, []byte, *chart.Metadata) {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatalf("load chart %s: %v", dir, err)
	}
	file, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatalf("package chart %s: %v", dir, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(file), data, ch.Metadata
}

// Serve packages the given chart directories and serves them as a Helm chart repository
// over HTTP: GET /index.yaml and GET /<name>-<version>.tgz, with absolute chart URLs in
// the index. The server is closed when the test ends.
func Serve(t testing.TB, chartDirs ...string) (*httptest.Server, *Counter) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range chartDirs {
		name, data, _ := Package(t, d)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	counter := &Counter{}
	srv := httptest.NewServer(counter.wrap(http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)
	index, err := repo.IndexDirectory(dir, srv.URL)
	if err != nil {
		t.Fatalf("index charts: %v", err)
	}
	index.SortEntries()
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatalf("write index.yaml: %v", err)
	}
	return srv, counter
}

// ServeArchive serves one archive as chart name at version, whatever the archive holds
// (tests use it for hostile archives that Helm's own indexer would refuse). The index
// names the archive with a relative URL, charts/<name>-<version>.tgz.
func ServeArchive(t testing.TB, name, version string, archive []byte) (*httptest.Server, *Counter) {
	t.Helper()
	dir := t.TempDir()
	file := fmt.Sprintf("%s-%s.tgz", name, version)
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "charts", file), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	index := repo.NewIndexFile()
	md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version}
	if err := index.MustAdd(md, "charts/"+file, "", hex.EncodeToString(sum[:])); err != nil {
		t.Fatalf("index %s: %v", file, err)
	}
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	counter := &Counter{}
	srv := httptest.NewServer(counter.wrap(http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)
	return srv, counter
}

// AppChart is the directory of a chart shaped like onechart, with a values.schema.json
// (draft-07, nested $ids, required properties, bounded integers) and defaults: the
// chart of tests that need a schema to validate values against.
func AppChart(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("chartrepo: cannot tell where the test charts are")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "app")
}
