package manifests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// loadChart returns a fresh *chart.Chart for src: local directories are read from disk,
// remote charts come from the memory cache, the disk cache or the network, in that order.
func (r *Renderer) loadChart(ctx context.Context, src source) (*chart.Chart, error) {
	if src.kind == sourceLocal {
		return r.loadLocal(src.name)
	}
	files, err := r.chartFiles(ctx, src)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	return ch, nil
}

// chartFiles returns the validated files of a remote chart. Concurrent calls for the same
// chart share one fetch.
func (r *Renderer) chartFiles(ctx context.Context, src source) ([]*loader.BufferedFile, error) {
	key := src.cacheKey()
	if files, ok := r.mem.Get(key); ok {
		return files, nil
	}
	v, err, _ := r.flight.Do(key, func() (any, error) {
		if files, ok := r.mem.Get(key); ok {
			return files, nil
		}
		file := r.cacheFile(key)
		if data, err := os.ReadFile(file); err == nil {
			// A cache entry that no longer validates (the limits changed, someone edited
			// it) is fetched again and overwritten.
			if files, err := r.readArchive(data); err == nil {
				r.mem.Add(key, files)
				return files, nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read chart cache: %w", err)
		}
		data, err := r.fetch(ctx, src)
		if err != nil {
			return nil, err
		}
		files, err := r.readArchive(data)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(file, data); err != nil {
			return nil, fmt.Errorf("write chart cache: %w", err)
		}
		r.mem.Add(key, files)
		return files, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]*loader.BufferedFile), nil
}

// fetch downloads the chart archive of a remote source.
func (r *Renderer) fetch(ctx context.Context, src source) ([]byte, error) {
	switch src.kind {
	case sourceHTTP:
		return r.fetchHTTP(ctx, src)
	case sourceOCI:
		return r.fetchOCI(ctx, src)
	case sourceGit:
		return r.fetchGit(ctx, src)
	default:
		return nil, fmt.Errorf("chart source %s cannot be fetched", src)
	}
}

// cacheFile is where the archive of the chart with this key is cached.
func (r *Renderer) cacheFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(r.cacheDir, hex.EncodeToString(sum[:])+".tgz")
}

// writeFileAtomic writes data to file through a temporary file in the same directory and
// a rename, so readers see the old file, the new file or none, never a partial one.
func writeFileAtomic(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, this fails harmlessly
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
