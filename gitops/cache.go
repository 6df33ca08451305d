package gitops

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Defaults of the bound on the cache directory, shared by every gitops repository one
// process (or one server's replicas on a shared volume) writes to.
const (
	DefaultCacheMaxBytes = 2 << 30 // 2 GiB
	DefaultCacheIdle     = 72 * time.Hour
	// pruneEvery spaces the walks over the cache directory.
	pruneEvery = time.Minute
	// maxPacks bounds the packs of a shallow clone: each write adds two (what it
	// fetched and what it made), and every object lookup looks through all of them.
	maxPacks = 64
)

// compact drops a shallow clone that has piled up more than r.maxPacks packs, so its
// next fetch is a cold start (cheap, see docs/gitops-writes.md) instead of every
// lookup slowing down. A clone with the whole history is kept: its log index follows
// it, and rebuilding that costs more than the packs.
func (r *Repo) compact() {
	packs, _ := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*.pack"))
	if len(packs) <= r.maxPacks {
		return
	}
	if _, err := os.Stat(filepath.Join(r.dir, "shallow")); err != nil {
		return
	}
	for _, name := range []string{"objects", "refs", "packed-refs", "shallow", partialMarker} {
		_ = os.RemoveAll(filepath.Join(r.dir, name))
	}
}

// pruneCache keeps opts.CacheDir inside its bounds: it removes the clones of
// repositories unused for opts.CacheIdle, then, while the directory is larger than
// opts.CacheMaxBytes, the least recently used ones. It never removes keep (the
// repository being opened) nor a clone another session holds locked, and it runs at
// most once a minute per directory. A removed clone only costs its next write a
// shallow fetch. Failures are ignored: the cache is only a cache.
func pruneCache(opts Options, keep string) {
	if opts.CacheMaxBytes < 0 && opts.CacheIdle < 0 {
		return
	}
	stamp := filepath.Join(opts.CacheDir, ".pruned")
	now := time.Now()
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < pruneEvery {
		return
	}
	if f, err := os.Create(stamp); err == nil {
		f.Close()
	}
	entries, err := os.ReadDir(opts.CacheDir)
	if err != nil {
		return
	}
	type clone struct {
		name string
		used time.Time
		size int64
	}
	var clones []clone
	var total int64
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		c := clone{name: e.Name(), used: fi.ModTime(), size: dirSize(filepath.Join(opts.CacheDir, e.Name()))}
		if c.name != keep && opts.CacheIdle > 0 && now.Sub(c.used) > opts.CacheIdle && evict(opts.CacheDir, c.name) {
			continue
		}
		clones = append(clones, c)
		total += c.size
	}
	if opts.CacheMaxBytes < 0 {
		return
	}
	sort.Slice(clones, func(i, j int) bool { return clones[i].used.Before(clones[j].used) })
	for _, c := range clones {
		if total <= opts.CacheMaxBytes {
			return
		}
		if c.name != keep && evict(opts.CacheDir, c.name) {
			total -= c.size
		}
	}
}

// evict removes one repository's clone if no session holds it.
func evict(dir, name string) bool {
	lock := flock.New(filepath.Join(dir, name+".lock"))
	ok, err := lock.TryLock()
	if err != nil || !ok {
		return false
	}
	defer lock.Unlock()
	return os.RemoveAll(filepath.Join(dir, name)) == nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
