package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// loadLocal loads a chart directory. Without an allow-list (the CLI) it is Helm's own
// directory loader, symlinks and all, on name relative to WorkDir. With one ("local"
// allowed), name must be a relative path inside WorkDir and the chart is read through an
// os.Root, refusing symlinks, so a chart cannot read files outside WorkDir.
func (r *Renderer) loadLocal(name string) (*chart.Chart, error) {
	if len(r.allowed) == 0 {
		dir := name
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(r.workDir, dir)
		}
		ch, err := loader.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load chart directory %s: %w", dir, err)
		}
		return ch, nil
	}
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("chart directory %s must be a relative path inside the work directory", name)
	}
	root, err := os.OpenRoot(r.workDir)
	if err != nil {
		return nil, fmt.Errorf("open work directory: %w", err)
	}
	defer root.Close()
	files, err := r.rootFiles(root.FS(), filepath.ToSlash(filepath.Clean(name)))
	if err != nil {
		return nil, fmt.Errorf("load chart directory %s: %w", name, err)
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart directory %s: %w", name, err)
	}
	return ch, nil
}

// rootFiles reads the regular files below dir of fsys, within the size limits, honouring
// .helmignore.
func (r *Renderer) rootFiles(fsys fs.FS, dir string) ([]*loader.BufferedFile, error) {
	var files []*loader.BufferedFile
	var total int64
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (symlinks are not allowed here)", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > loader.MaxDecompressedFileSize {
			return fmt.Errorf("%s is %w: %d bytes, the limit is %d", p, errTooLarge, info.Size(), loader.MaxDecompressedFileSize)
		}
		if total += info.Size(); total > r.maxUncompressed {
			return fmt.Errorf("chart is %w: over %d bytes", errTooLarge, r.maxUncompressed)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := p[len(dir)+1:]
		if dir == "." {
			rel = p
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, utf8BOM)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no files")
	}
	return helmIgnore(files)
}

// utf8BOM is trimmed from chart files, as Helm does.
var utf8BOM = []byte("\xEF\xBB\xBF")

// fileInfo is the os.FileInfo that Helm's .helmignore rules look at: a name and whether it
// is a directory.
type fileInfo struct {
	name string
	dir  bool
}

func (f fileInfo) Name() string { return path.Base(f.name) }
func (f fileInfo) Size() int64  { return 0 }
func (f fileInfo) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.dir }
func (f fileInfo) Sys() any           { return nil }
