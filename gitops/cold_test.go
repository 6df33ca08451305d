package gitops_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/gitserver"
)

// A write into an empty cache fetches the tip alone; a redelivered trigger is still
// found, from a new cache, after other commits landed on its app and beside it, and a
// log afterwards reads the whole history.
func TestColdCacheIsShallowAndStillIdempotent(t *testing.T) {
	for name, partial := range map[string]bool{"full": false, "partial clone": true} {
		t.Run(name, func(t *testing.T) { testColdCache(t, partial) })
	}
}

func testColdCache(t *testing.T, partial bool) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	if partial {
		// What GitHub offers: blob-less fetches (and, over HTTP, any reachable object
		// by id).
		git(t, srv.Dir("gitops"), "config", "uploadpack.allowFilter", "true")
	}
	url := srv.AuthURL("gitops")
	writer := open(t, url)
	first := release("api", "staging", "1111111111111111111111111111111111111111", "v1")
	first.Trigger = "comment:1"
	rec, err := writer.Release(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	// Twenty more commits: other apps, then a newer release of api itself.
	for i := 0; i < 20; i++ {
		if _, err := writer.Release(ctx, release(fmt.Sprintf("app-%d", i), "staging", "2222222222222222222222222222222222222222", "x")); err != nil {
			t.Fatal(err)
		}
	}
	newer := release("api", "staging", "3333333333333333333333333333333333333333", "v3")
	newer.Trigger = "comment:2"
	if _, err := writer.Release(ctx, newer); err != nil {
		t.Fatal(err)
	}
	head := git(t, srv.Dir("gitops"), "rev-parse", "main")

	tests := map[string]struct {
		rel      gitops.Release
		recorded string
	}{
		"redelivered, buried under 21 commits":   {rel: first, recorded: rec.Commit},
		"redelivered, the app's current release": {rel: newer, recorded: head},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cache := t.TempDir()
			repo, err := gitops.Open(gitops.Remote{URL: url}, gitops.Options{CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			res, err := repo.Release(ctx, tc.rel)
			if err != nil || !res.Recorded || res.Changed || res.Commit != tc.recorded {
				t.Fatalf("redelivery: %+v %v, want recorded at %s", res, err, tc.recorded)
			}
			if got := git(t, srv.Dir("gitops"), "rev-parse", "main"); got != head {
				t.Fatalf("main moved to %s", got)
			}
			log, err := repo.Log(ctx, gitops.Target{Env: "staging", App: "api"})
			if err != nil || len(log) != 2 {
				t.Fatalf("log from a shallow cache: %d entries, %v", len(log), err)
			}
		})
	}

	t.Run("a fresh release from an empty cache is shallow", func(t *testing.T) {
		cache := t.TempDir()
		repo, err := gitops.Open(gitops.Remote{URL: url}, gitops.Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		rel := release("web", "staging", "4444444444444444444444444444444444444444", "v1")
		rel.Trigger = "comment:3"
		res, err := repo.Release(ctx, rel)
		if err != nil || !res.Changed {
			t.Fatalf("release: %+v %v", res, err)
		}
		shallow, _ := filepath.Glob(filepath.Join(cache, "*", "shallow"))
		if len(shallow) != 1 {
			t.Fatalf("the cache is not shallow: %v", shallow)
		}
		if n := git(t, srv.Dir("gitops"), "rev-list", "--count", "main"); n != "23" {
			t.Errorf("commits = %s, want 23", n)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(shallow[0]), "auger-partial")); (err == nil) != partial {
			t.Errorf("partial cache = %v, want %v", err == nil, partial)
		}
		// A new release of an app the cache has no blobs of yet: the diff reads them.
		again, err := repo.Release(ctx, release("api", "staging", "5555555555555555555555555555555555555555", "v5"))
		if err != nil || !again.Changed || fmt.Sprint(again.Diff.Changed) != "[deployment-api.yaml]" {
			t.Fatalf("release over the current one: %+v %v", again, err)
		}
		back, _, err := repo.Rollback(ctx, gitops.Target{Env: "staging", App: "api"}, "", gitops.Actor{TriggeredBy: "jane"}, nil)
		if err != nil || !back.Changed {
			t.Fatalf("rollback: %+v %v", back, err)
		}
		if got := git(t, srv.Dir("gitops"), "show", "main:staging/api/deployment-api.yaml"); !strings.Contains(got, "# v3") {
			t.Errorf("rolled back to:\n%s", got)
		}
	})
}

// The redelivery window bounds the walk by commit time, but a folder whose
// release.json still names the trigger is recorded however old its commit.
func TestOldTriggerStillInTheFolderIsRecorded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitops")
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	repo, err := gitops.Open(gitops.Remote{URL: path}, gitops.Options{CacheDir: t.TempDir(), Now: func() time.Time { return old }})
	if err != nil {
		t.Fatal(err)
	}
	rel := release("api", "staging", "1111111111111111111111111111111111111111", "v1")
	rel.Trigger = "comment:1"
	first, err := repo.Release(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	later, err := gitops.Open(gitops.Remote{URL: path}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rel.Files["extra.yaml"] = []byte("kind: ConfigMap\n")
	res, err := later.Release(ctx, rel)
	if err != nil || !res.Recorded || res.Commit != first.Commit {
		t.Fatalf("old redelivery: %+v %v (first %s)", res, err, first.Commit)
	}
}

// An outage costs FetchAttempts git requests per write, not one per rejected-push
// retry.
func TestUnreachableRemoteCostsTwoRequestsPerWrite(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	repo, err := gitops.Open(gitops.Remote{URL: srv.URL + "/gitops.git"}, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Release(context.Background(), release("api", "staging", "1111111111111111111111111111111111111111", "v1"))
	if err == nil || !strings.Contains(err.Error(), "fetch") {
		t.Fatalf("release against a failing server: %v", err)
	}
	if n := requests.Load(); n != gitops.FetchAttempts {
		t.Errorf("git requests = %d, want %d", n, gitops.FetchAttempts)
	}
}

// The cache drops clones unused for longer than CacheIdle, and the least recently
// used ones while it is larger than CacheMaxBytes, never the one being opened.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		path := filepath.Join(t.TempDir(), "gitops")
		paths = append(paths, path)
		repo, err := gitops.Open(gitops.Remote{URL: path}, gitops.Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Release(ctx, release("api", "staging", "1111111111111111111111111111111111111111", "v1")); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(cache, ".pruned"))
	}
	clones := func() []string {
		m, _ := filepath.Glob(filepath.Join(cache, "*", "config"))
		return m
	}
	if n := len(clones()); n != 3 {
		t.Fatalf("clones = %d, want 3", n)
	}
	// One byte of room: every clone but the one opened goes.
	if _, err := gitops.Open(gitops.Remote{URL: paths[2]}, gitops.Options{CacheDir: cache, CacheMaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	left := clones()
	if len(left) != 1 {
		t.Fatalf("clones after pruning to 1 byte = %d, want 1 (the one opened)", len(left))
	}
	// That one has now been idle for a week.
	week := time.Now().Add(-7 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Dir(left[0]), week, week); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(cache, ".pruned"))
	if _, err := gitops.Open(gitops.Remote{URL: paths[0]}, gitops.Options{CacheDir: cache, CacheIdle: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if n := len(clones()); n != 0 {
		t.Errorf("the idle clone is still there")
	}
}

// A write from a warm cache, after another writer moved the branch, costs four git
// requests: the upload-pack advertisement and the fetch of what is new (the other
// writer's blobs included), the receive-pack advertisement and the push. The cache's
// packed objects count as held (go-git's own check, with exclusive access, sees only
// loose objects, and a partial cache then fetched the folder's blobs again).
func TestWarmWriteCostsFourRequests(t *testing.T) {
	for name, partial := range map[string]bool{"full": false, "partial clone": true} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			srv := gitserver.Start(t)
			srv.Create(t, "gitops")
			git(t, srv.Dir("gitops"), "config", "uploadpack.allowFilter", fmt.Sprint(partial))
			var requests atomic.Int32
			target, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(target)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			viaFront := strings.Replace(srv.AuthURL("gitops"), srv.URL[len("http://"):], front.Listener.Addr().String(), 1)
			other, mine := open(t, srv.AuthURL("gitops")), open(t, viaFront)
			for i := 0; i < 3; i++ {
				if _, err := other.Release(ctx, release("api", "staging", fmt.Sprintf("%040d", i), fmt.Sprint("other ", i))); err != nil {
					t.Fatal(err)
				}
				requests.Store(0)
				res, err := mine.Release(ctx, release("api", "staging", fmt.Sprintf("%040d", 10+i), fmt.Sprint("mine ", i)))
				if err != nil || !res.Changed {
					t.Fatalf("release %d: %+v, %v", i, res, err)
				}
				// The first write fills the cache (and a partial one reads the folder).
				if n := requests.Load(); i > 0 && n != 4 {
					t.Errorf("write %d: %d git requests, want 4", i, n)
				}
			}
		})
	}
}
