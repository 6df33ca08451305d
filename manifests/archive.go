package manifests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// errTooLarge is wrapped by every error about a size limit.
var errTooLarge = errors.New("too large")

// limitReader reads r and fails, rather than stopping quietly, once r has yielded more
// than max bytes.
type limitReader struct {
	r         io.Reader
	left, max int64 // left counts down from max+1
	what      string
}

// newLimitReader limits r to max bytes; what names the content in the error.
func newLimitReader(r io.Reader, max int64, what string) io.Reader {
	return &limitReader{r: r, left: max + 1, max: max, what: what}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, l.tooLarge()
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	k, err := l.r.Read(p)
	l.left -= int64(k)
	if l.left <= 0 {
		return k, l.tooLarge()
	}
	return k, err
}

func (l *limitReader) tooLarge() error {
	return fmt.Errorf("%s is %w: over %d bytes", l.what, errTooLarge, l.max)
}

// readArchive validates a chart archive and returns its files, as Helm's loader reads them.
// Helm's loader refuses paths that clean to "../..." and caps the uncompressed size at
// 100 MiB (5 MiB per file), but it reads symlinks and devices as empty files and quietly
// normalizes "a/../b" and "/etc/x". Nothing is written to disk, so none of this escapes,
// but an archive that holds such entries is not a chart anyone packaged with Helm: this
// refuses every entry that is not a regular file or a directory, or whose path is absolute
// or has a ".." element, and applies Auger's lower size limits, before Helm sees it.
func (r *Renderer) readArchive(data []byte) ([]*loader.BufferedFile, error) {
	if int64(len(data)) > r.maxArchive {
		return nil, fmt.Errorf("chart archive is %w: %d bytes, the limit is %d", errTooLarge, len(data), r.maxArchive)
	}
	if err := r.checkArchive(data); err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	files, err := loader.LoadArchiveFiles(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	return files, nil
}

// checkArchive walks the whole archive: entry types, paths and the uncompressed size.
func (r *Renderer) checkArchive(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a gzipped tar archive: %w", err)
	}
	defer zr.Close()
	// The limit counts tar headers and padding too, which is what a bomb inflates.
	tr := tar.NewReader(newLimitReader(zr, r.maxUncompressed+64<<10, "uncompressed chart"))
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch hd.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeXHeader, tar.TypeXGlobalHeader:
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("entry %q is a link (to %q): charts may hold regular files only", hd.Name, hd.Linkname)
		default:
			return fmt.Errorf("entry %q has type %q: charts may hold regular files only", hd.Name, hd.Typeflag)
		}
		name := strings.ReplaceAll(hd.Name, `\`, "/")
		if path.IsAbs(name) || hasDotDot(name) {
			return fmt.Errorf("entry %q leaves the chart directory", hd.Name)
		}
		if hd.Size > loader.MaxDecompressedFileSize {
			return fmt.Errorf("entry %q is %w: %d bytes, the limit is %d", hd.Name, errTooLarge, hd.Size, loader.MaxDecompressedFileSize)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// writeArchive packages files (paths relative to the chart root) as a chart archive with
// top directory "chart", deterministically (sorted input gives identical bytes).
func writeArchive(files []*loader.BufferedFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hd := &tar.Header{Name: "chart/" + f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hd); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
