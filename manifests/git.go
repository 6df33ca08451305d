package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	gitfile "github.com/go-git/go-git/v5/plumbing/transport/file"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// fetchGit fetches the commit that src.version names, shallowly, into a temporary object
// store under the cache directory, and packages the chart directory src.name of its tree
// as an archive. Nothing is checked out: files are read from git objects, so a symlink in
// the repository cannot reach outside it (symlinks and submodules are refused).
func (r *Renderer) fetchGit(ctx context.Context, src source) ([]byte, error) {
	ep, err := transport.NewEndpoint(src.origin)
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", src.origin, err)
	}
	var t transport.Transport
	switch ep.Protocol {
	case "https", "http":
		t = githttp.NewClient(r.client)
	case "file":
		t = gitfile.DefaultClient
	default:
		return nil, fmt.Errorf("git %s: protocol %s is not supported", src.origin, ep.Protocol)
	}
	sess, err := t.NewUploadPackSession(ep, nil)
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", src.origin, err)
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", src.origin, err)
	}
	want, err := resolveRef(adv, src.version)
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", src.origin, err)
	}

	req := packp.NewUploadPackRequestFromCapabilities(adv.Capabilities)
	req.Wants = []plumbing.Hash{want}
	if adv.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(1)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return nil, err
		}
	}
	if adv.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return nil, err
		}
	}

	if err := os.MkdirAll(r.cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	dir, err := os.MkdirTemp(r.cacheDir, ".git-*")
	if err != nil {
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	defer os.RemoveAll(dir)
	store := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	defer store.Close()

	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("git %s: fetch %s: %w", src.origin, want, err)
	}
	defer resp.Close()
	var pack io.Reader = newLimitReader(resp, r.maxGitPack, "git pack")
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, pack)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, pack)
	}
	if err := packfile.UpdateObjectStorage(store, pack); err != nil {
		return nil, fmt.Errorf("git %s: fetch %s: %w", src.origin, want, err)
	}

	commit, err := object.GetCommit(store, want)
	if err != nil {
		return nil, fmt.Errorf("git %s: commit %s: %w", src.origin, want, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("git %s: commit %s: %w", src.origin, want, err)
	}
	if src.name != "." {
		if tree, err = tree.Tree(src.name); err != nil {
			return nil, fmt.Errorf("git %s: %s at %s: %w", src.origin, src.name, want, err)
		}
	}
	files, err := r.treeFiles(tree)
	if err != nil {
		return nil, fmt.Errorf("git %s: %s at %s: %w", src.origin, src.name, want, err)
	}
	return writeArchive(files)
}

// resolveRef finds the commit a ref names among the advertised references, as git
// rev-parse would: HEAD for "", then refs/<ref>, refs/tags/<ref>, refs/heads/<ref>; annotated
// tags are peeled. A full commit hash that no ref names is asked for as is (servers that
// allow fetching unadvertised commits, like GitHub, serve it).
func resolveRef(adv *packp.AdvRefs, ref string) (plumbing.Hash, error) {
	if ref == "" || ref == "HEAD" {
		if adv.Head == nil {
			return plumbing.ZeroHash, errors.New("the repository has no HEAD")
		}
		return *adv.Head, nil
	}
	candidates := []string{ref, "refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref}
	if !strings.HasPrefix(ref, "refs/") {
		candidates = candidates[1:]
	}
	for _, name := range candidates {
		if h, ok := adv.Peeled[name]; ok {
			return h, nil
		}
		if h, ok := adv.References[name]; ok {
			return h, nil
		}
	}
	if commitHash.MatchString(ref) {
		return plumbing.NewHash(ref), nil
	}
	return plumbing.ZeroHash, fmt.Errorf("ref %q not found (want a tag, a branch, a full ref name or a commit hash)", ref)
}

// treeFiles reads the chart files of tree, honouring the chart's .helmignore as Helm's
// directory loader does, within the uncompressed size limits.
func (r *Renderer) treeFiles(tree *object.Tree) ([]*loader.BufferedFile, error) {
	var files []*loader.BufferedFile
	var total int64
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if entry.Name == "" || entry.Name == "." || entry.Name == ".." || strings.ContainsAny(entry.Name, `/\`) {
			return nil, fmt.Errorf("tree entry %q has an invalid name", entry.Name)
		}
		switch entry.Mode {
		case filemode.Dir:
			continue
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
		case filemode.Symlink:
			return nil, fmt.Errorf("%s is a symlink: charts may hold regular files only", name)
		case filemode.Submodule:
			return nil, fmt.Errorf("%s is a submodule: charts may hold regular files only", name)
		default:
			return nil, fmt.Errorf("%s has file mode %s: charts may hold regular files only", name, entry.Mode)
		}
		blob, err := tree.TreeEntryFile(&entry)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if blob.Size > loader.MaxDecompressedFileSize {
			return nil, fmt.Errorf("%s is %w: %d bytes, the limit is %d", name, errTooLarge, blob.Size, loader.MaxDecompressedFileSize)
		}
		if total += blob.Size; total > r.maxUncompressed {
			return nil, fmt.Errorf("chart is %w: over %d bytes", errTooLarge, r.maxUncompressed)
		}
		data, err := blob.Contents()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, &loader.BufferedFile{Name: name, Data: bytes.TrimPrefix([]byte(data), utf8BOM)})
	}
	if len(files) == 0 {
		return nil, errors.New("no files")
	}
	files, err := helmIgnore(files)
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// helmIgnore drops the files that the chart's .helmignore (and Helm's default rules)
// exclude. Like Helm's directory loader, a directory rule excludes everything below it.
func helmIgnore(files []*loader.BufferedFile) ([]*loader.BufferedFile, error) {
	rules := ignore.Empty()
	for _, f := range files {
		if f.Name == ignore.HelmIgnore {
			parsed, err := ignore.Parse(strings.NewReader(string(f.Data)))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
			}
			rules = parsed
		}
	}
	rules.AddDefaults()
	kept := files[:0]
	for _, f := range files {
		if !ignored(rules, f.Name) {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// ignored reports whether rules exclude name or one of its parent directories.
func ignored(rules *ignore.Rules, name string) bool {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		if rules.Ignore(path.Join(parts[:i]...), fileInfo{name: parts[i-1], dir: true}) {
			return true
		}
	}
	return rules.Ignore(name, fileInfo{name: parts[len(parts)-1]})
}
