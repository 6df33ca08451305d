package gitops_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auger-dev/auger/gitops"
	"github.com/auger-dev/auger/internal/gitserver"
)

// The benchmark repository: 20,000 files in 200 app folders with 2,000 commits, served
// over smart HTTP on loopback.
const (
	benchFolders = 200
	benchFiles   = 100 // per folder
	benchCommits = 2000
)

var (
	benchOnce sync.Once
	benchSrv  *gitserver.Server
)

// benchServer builds the repository once per run with git fast-import (a few seconds).
func benchServer(b *testing.B) *gitserver.Server {
	benchOnce.Do(func() {
		// The server must outlive the benchmark that happened to create it.
		tb := &longLived{TB: b}
		benchSrv = gitserver.Start(tb)
		benchSrv.Create(tb, "big")
		benchSrv.Populate(tb, "big", "staging", benchFolders, benchFiles, benchCommits)
	})
	return benchSrv
}

// longLived lends a benchmark's TB to fixtures that must last for the whole run: its
// cleanups never run and temporary directories are made by hand.
type longLived struct{ testing.TB }

func (l *longLived) Cleanup(func()) {}
func (l *longLived) TempDir() string {
	dir, err := os.MkdirTemp("", "auger-bench-")
	if err != nil {
		l.TB.Fatal(err)
	}
	return dir
}

func cli(b *testing.B, dir string, args ...string) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkReleaseWrite compares one release (fetch, replace one app folder, commit,
// push) by Auger with a warm cache against the git CLI doing the same.
func BenchmarkReleaseWrite(b *testing.B) {
	srv := benchServer(b)
	b.Run("auger", func(b *testing.B) {
		repo, err := gitops.Open(gitops.Remote{URL: srv.AuthURL("big")}, gitops.Options{CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		// Warm the cache: the first release clones and indexes.
		if _, err := repo.Release(ctx, release("app-042", "staging", "0000000000000000000000000000000000000000", "warm")); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := repo.Release(ctx, release("app-042", "staging", "1111111111111111111111111111111111111111", fmt.Sprint("auger ", time.Now().UnixNano()))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("git-cli", func(b *testing.B) {
		url := srv.AuthURL("big")
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			cli(b, dir, "clone", "-q", "--depth", "1", "--no-checkout", url, "w")
			w := filepath.Join(dir, "w")
			cli(b, w, "sparse-checkout", "set", "staging/app-043")
			cli(b, w, "checkout", "-q", "main")
			os.WriteFile(filepath.Join(w, "staging", "app-043", "configmap-000.yaml"), []byte(fmt.Sprint("cli ", time.Now().UnixNano(), "\n")), 0o644)
			cli(b, w, "commit", "-qam", "Release app-043")
			cli(b, w, "push", "-q", "origin", "main")
		}
	})
}

// BenchmarkReleaseLog compares the release log of one app against `git log -- <path>`
// in a full local clone.
func BenchmarkReleaseLog(b *testing.B) {
	srv := benchServer(b)
	b.Run("auger", func(b *testing.B) {
		repo, err := gitops.Open(gitops.Remote{URL: srv.AuthURL("big")}, gitops.Options{CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := repo.Log(ctx, gitops.Target{Env: "staging", App: "app-007"}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			log, err := repo.Log(ctx, gitops.Target{Env: "staging", App: "app-007"})
			if err != nil || len(log) < benchCommits/benchFolders {
				b.Fatalf("log: %d entries, %v", len(log), err)
			}
		}
	})
	b.Run("git-log", func(b *testing.B) {
		dir := b.TempDir()
		cli(b, dir, "clone", "-q", "--bare", srv.AuthURL("big"), "w")
		for i := 0; i < b.N; i++ {
			cli(b, filepath.Join(dir, "w"), "log", "--format=%H %s%n%b", "main", "--", "staging/app-007")
		}
	})
}
