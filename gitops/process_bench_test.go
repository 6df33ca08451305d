package gitops_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReleaseProcess runs `auger release` as a whole process, the way a CI job
// does, into the 20,000-file, 2,000-commit repository over smart HTTP, each run a new
// sha, against the git CLI flow a CI script would use for the same change (`clone
// --depth 1 --filter=blob:none --no-checkout`, sparse checkout of the app folder,
// copy, commit, push). "cold" starts from an empty cache, as every CI job and every
// new replica does; "warm" reuses one. It reports median wall time and the largest
// peak resident memory of any process of a run. Run it once:
//
//	go test -run '^$' -bench ReleaseProcess -benchtime 1x ./gitops/
//
// AUGER_BENCH_RUNS sets the runs per flow (default 7); scripts/bench-gitops.sh runs it
// against a server that offers partial clone and one that does not.
func BenchmarkReleaseProcess(b *testing.B) {
	srv := benchServer(b)
	url := srv.AuthURL("big")
	// A partial clone needs the server's consent, as GitHub gives it;
	// AUGER_BENCH_PARTIAL=false measures a server that refuses it.
	partial := fmt.Sprint(os.Getenv("AUGER_BENCH_PARTIAL") != "false")
	cli(b, srv.Dir("big"), "config", "uploadpack.allowFilter", partial)
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	auger := filepath.Join(work, "auger")
	if out, err := exec.Command("go", "build", "-o", auger, root).CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "artifact.json"))
	if err != nil {
		b.Fatal(err)
	}
	const exampleSHA = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
	run := 0
	artifact := func() string {
		run++
		sha := fmt.Sprintf("%040x", time.Now().UnixNano()+int64(run))
		path := filepath.Join(work, fmt.Sprintf("artifact-%d.json", run))
		if err := os.WriteFile(path, bytes.ReplaceAll(example, []byte(exampleSHA), []byte(sha)), 0o644); err != nil {
			b.Fatal(err)
		}
		return path
	}
	chartCache, warmCache := filepath.Join(work, "charts"), filepath.Join(work, "warm")
	release := func(cache string) (time.Duration, int64) {
		return timed(b, root, auger, "release", "--gitops-repo", url, "--artifact", artifact(), "--env", "staging", "--app", "frontend",
			"--cache-dir", cache, "--chart-cache", chartCache, "--triggered-by", "bench")
	}
	// The git CLI copies what `auger render` wrote, so both write the same files.
	rendered := filepath.Join(work, "rendered")
	timed(b, root, auger, "render", "--artifact", artifact(), "--env", "staging", "--app", "frontend", "--chart-cache", chartCache, "--out", rendered)
	gitFlow := func() (time.Duration, int64) {
		dir := b.TempDir()
		w := filepath.Join(dir, "w")
		steps := [][]string{
			{"git", "clone", "-q", "--depth", "1", "--filter=blob:none", "--no-checkout", url, w},
			{"git", "-C", w, "sparse-checkout", "set", "staging/frontend"},
			{"git", "-C", w, "checkout", "-q", "main"},
			{"sh", "-c", fmt.Sprintf("mkdir -p %[1]s/staging/frontend && cp %[2]s/frontend/* %[1]s/staging/frontend/ && date +%%s%%N > %[1]s/staging/frontend/release.json", w, rendered)},
			{"git", "-C", w, "add", "staging/frontend"},
			{"git", "-C", w, "commit", "-qm", "Release frontend"},
			{"git", "-C", w, "push", "-q", "origin", "main"},
		}
		var wall time.Duration
		var peak int64
		for _, s := range steps {
			d, rss := timed(b, root, s[0], s[1:]...)
			wall += d
			peak = max(peak, rss)
		}
		return wall, peak
	}
	release(warmCache) // fill the warm cache

	runs := envInt("AUGER_BENCH_RUNS", 7)
	flows := []struct {
		name string
		run  func() (time.Duration, int64)
	}{
		{"cold", func() (time.Duration, int64) { return release(b.TempDir()) }},
		{"warm", func() (time.Duration, int64) { return release(warmCache) }},
		{"git", gitFlow},
	}
	walls := map[string][]time.Duration{}
	peaks := map[string]int64{}
	for i := 0; i < b.N*runs; i++ {
		for _, f := range flows { // interleaved, so drift in the machine's speed hits all three
			d, rss := f.run()
			walls[f.name] = append(walls[f.name], d)
			peaks[f.name] = max(peaks[f.name], rss)
		}
	}
	median := func(ds []time.Duration) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2].Seconds() * 1000
	}
	git := median(walls["git"])
	for _, f := range flows {
		m := median(walls[f.name])
		b.ReportMetric(m, f.name+"-ms")
		b.ReportMetric(float64(peaks[f.name])/1024, f.name+"-peak-MB")
		if f.name != "git" {
			b.ReportMetric(m/git, f.name+"/git")
		}
	}
}

// timed runs one process to its end and returns its wall time and peak resident
// memory in KiB, read by /usr/bin/time when there is one: the kernel's figure for a
// child of this process would count the memory of the test binary it was forked from.
func timed(b *testing.B, dir, name string, args ...string) (time.Duration, int64) {
	var rssFile string
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		rssFile = filepath.Join(b.TempDir(), "rss")
		args = append([]string{"-f", "%M", "-o", rssFile, name}, args...)
		name = "/usr/bin/time"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	wall := time.Since(start)
	var rss int64
	if rssFile != "" {
		data, _ := os.ReadFile(rssFile)
		fmt.Sscan(string(data), &rss)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return wall, rss
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}
