package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// objectWriter writes new git objects into the cache and remembers them, so a push
// sends exactly what a change created and nothing the remote already has to be found
// by walking history.
type objectWriter struct {
	s       storer.EncodedObjectStorer
	written []plumbing.Hash
}

func (w *objectWriter) put(o interface {
	Encode(plumbing.EncodedObject) error
}, t plumbing.ObjectType) (plumbing.Hash, error) {
	obj := w.s.NewEncodedObject()
	obj.SetType(t)
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.store(obj)
}

// store saves obj in the cache and remembers it for the push.
func (w *objectWriter) store(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := w.s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	w.written = append(w.written, h)
	return h, nil
}

func (w *objectWriter) blob(data []byte) (plumbing.Hash, error) {
	obj := w.s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := wr.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.store(obj)
}

// tree writes a tree from entries, sorted the way git requires.
func (w *objectWriter) tree(entries []object.TreeEntry) (plumbing.Hash, error) {
	sortEntries(entries)
	return w.put(&object.Tree{Entries: entries}, plumbing.TreeObject)
}

// flatTree writes a tree of regular files (one directory level, as app folders are).
func (w *objectWriter) flatTree(files map[string][]byte) (plumbing.Hash, error) {
	entries := make([]object.TreeEntry, 0, len(files))
	for name, data := range files {
		if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return plumbing.ZeroHash, fmt.Errorf("invalid file name %q", name)
		}
		h, err := w.blob(data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
	}
	return w.tree(entries)
}

// sortEntries orders tree entries as git does: by name, with directories compared as
// if their name ended in "/".
func sortEntries(entries []object.TreeEntry) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
}

// splitPath splits a slash-separated folder path into its parts, refusing anything
// that could step outside the repository.
func splitPath(p string) ([]string, error) {
	clean := path.Clean("/" + strings.Trim(p, "/"))
	if clean == "/" {
		return nil, nil
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	for _, part := range parts {
		if part == ".." || part == "." || part == ".git" || part == "" {
			return nil, fmt.Errorf("path %q: %q is not allowed", p, part)
		}
	}
	if strings.Contains(p, "..") {
		return nil, fmt.Errorf("path %q: \"..\" is not allowed", p)
	}
	return parts, nil
}

// subtree returns the hash and mode of the entry at parts below root, or ZeroHash when
// there is none.
func subtree(s storer.EncodedObjectStorer, root plumbing.Hash, parts []string) (plumbing.Hash, filemode.FileMode, error) {
	h, mode := root, filemode.Dir
	for _, part := range parts {
		if h.IsZero() || mode != filemode.Dir {
			return plumbing.ZeroHash, 0, nil
		}
		t, err := object.GetTree(s, h)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		h, mode = plumbing.ZeroHash, 0
		for _, e := range t.Entries {
			if e.Name == part {
				h, mode = e.Hash, e.Mode
				break
			}
		}
	}
	return h, mode, nil
}

// replace returns a new root tree in which the entry at parts is set to (h, mode), or
// removed when h is ZeroHash. Parents left empty by a removal are removed too; only
// the trees on the path are rewritten.
func (w *objectWriter) replace(root plumbing.Hash, parts []string, h plumbing.Hash, mode filemode.FileMode) (plumbing.Hash, error) {
	if len(parts) == 0 {
		return plumbing.ZeroHash, errors.New("cannot replace the repository root")
	}
	var entries []object.TreeEntry
	if !root.IsZero() {
		t, err := object.GetTree(w.s, root)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, t.Entries...)
	}
	idx := -1
	for i, e := range entries {
		if e.Name == parts[0] {
			idx = i
			break
		}
	}
	newHash, newMode := h, mode
	if len(parts) > 1 {
		child := plumbing.ZeroHash
		if idx >= 0 && entries[idx].Mode == filemode.Dir {
			child = entries[idx].Hash
		}
		var err error
		newHash, err = w.replace(child, parts[1:], h, mode)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		newMode = filemode.Dir
	}
	switch {
	case newHash.IsZero() && idx >= 0:
		entries = append(entries[:idx], entries[idx+1:]...)
	case newHash.IsZero():
	case idx >= 0:
		entries[idx] = object.TreeEntry{Name: parts[0], Mode: newMode, Hash: newHash}
	default:
		entries = append(entries, object.TreeEntry{Name: parts[0], Mode: newMode, Hash: newHash})
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	return w.tree(entries)
}

// readFiles returns the regular files directly inside the tree h.
func readFiles(s storer.EncodedObjectStorer, h plumbing.Hash) (map[string][]byte, error) {
	files := map[string][]byte{}
	if h.IsZero() {
		return files, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, err
	}
	if p, ok := s.(interface{ prefetch([]plumbing.Hash) error }); ok {
		// A partial cache fetches the folder's blobs in one request.
		hs := make([]plumbing.Hash, 0, len(t.Entries))
		for _, e := range t.Entries {
			if e.Mode.IsFile() {
				hs = append(hs, e.Hash)
			}
		}
		if err := p.prefetch(hs); err != nil {
			return nil, err
		}
	}
	for _, e := range t.Entries {
		if !e.Mode.IsFile() {
			continue
		}
		data, err := readBlob(s, e.Hash)
		if err != nil {
			return nil, err
		}
		files[e.Name] = data
	}
	return files, nil
}

func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
