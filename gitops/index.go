package gitops

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// index maps every folder of the branch to the commits that changed it, so that the
// release log of one app costs time in proportion to the commits that touched its
// folder, not to the repository's history. It is kept beside the cached clone and
// extended incrementally with each fetch; a rewritten history rebuilds it.
type index struct {
	Version int
	Tip     plumbing.Hash
	Seen    map[plumbing.Hash]struct{}
	Folders map[string][]touch
	Next    uint64

	dirty bool
}

// touch is one commit that changed a folder; Seq orders commits (higher is newer).
type touch struct {
	Commit plumbing.Hash
	Seq    uint64
}

const indexVersion = 1

func newIndex() *index {
	return &index{Version: indexVersion, Seen: map[plumbing.Hash]struct{}{}, Folders: map[string][]touch{}}
}

func (x *index) reset() {
	*x = *newIndex()
	x.dirty = true
}

func loadIndex(path string) (*index, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return newIndex(), nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x := newIndex()
	if err := gob.NewDecoder(f).Decode(x); err != nil || x.Version != indexVersion {
		// A damaged or old index is only a cache: rebuild it.
		return newIndex(), nil
	}
	return x, nil
}

func (x *index) save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".index-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(x); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	x.dirty = false
	return os.Rename(tmp.Name(), path)
}

// update indexes the commits reachable from tip that are not indexed yet.
func (x *index) update(s storer.EncodedObjectStorer, tip plumbing.Hash) error {
	if tip == x.Tip {
		return nil
	}
	if tip.IsZero() {
		x.reset()
		return nil
	}
	var fresh []*object.Commit
	reachedOld := x.Tip.IsZero()
	queue := []plumbing.Hash{tip}
	queued := map[plumbing.Hash]bool{tip: true}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if h == x.Tip {
			reachedOld = true
		}
		if _, ok := x.Seen[h]; ok {
			continue
		}
		c, err := object.GetCommit(s, h)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", h, err)
		}
		fresh = append(fresh, c)
		for _, p := range c.ParentHashes {
			if !queued[p] {
				queued[p] = true
				queue = append(queue, p)
			}
		}
	}
	if !reachedOld {
		// The branch was rewritten: what was indexed may no longer be reachable.
		x.reset()
		return x.update(s, tip)
	}
	// Parents before children, so sequence numbers grow with history (a merged branch's
	// commits come after the commit they were built on).
	for _, c := range topological(fresh) {
		parentTree := plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			p, err := object.GetCommit(s, c.ParentHashes[0])
			if err != nil {
				return fmt.Errorf("read commit %s: %w", c.ParentHashes[0], err)
			}
			parentTree = p.TreeHash
		}
		x.Next++
		seq := x.Next
		x.Seen[c.Hash] = struct{}{}
		if len(c.ParentHashes) > 1 {
			// A merge brings changes that are indexed with the commits that made them
			// (a gitops pull request's release commit, say); it is not a change itself.
			continue
		}
		err := changedFolders(s, parentTree, c.TreeHash, "", func(folder string) {
			x.Folders[folder] = append(x.Folders[folder], touch{Commit: c.Hash, Seq: seq})
		})
		if err != nil {
			return err
		}
	}
	x.Tip = tip
	x.dirty = true
	return nil
}

// topological orders commits so that each comes after its parents among them, and
// otherwise oldest first in the order they were found (newest first).
func topological(fresh []*object.Commit) []*object.Commit {
	byHash := make(map[plumbing.Hash]*object.Commit, len(fresh))
	for _, c := range fresh {
		byHash[c.Hash] = c
	}
	done := make(map[plumbing.Hash]bool, len(fresh))
	out := make([]*object.Commit, 0, len(fresh))
	type frame struct {
		c    *object.Commit
		next int // the next parent to visit
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		if done[fresh[i].Hash] {
			continue
		}
		done[fresh[i].Hash] = true
		stack := []frame{{c: fresh[i]}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(top.c.ParentHashes) {
				p := byHash[top.c.ParentHashes[top.next]]
				top.next++
				if p != nil && !done[p.Hash] {
					done[p.Hash] = true
					stack = append(stack, frame{c: p})
				}
				continue
			}
			out = append(out, top.c)
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

// changedFolders reports every folder whose content differs between trees a and b,
// descending only into subtrees that differ.
func changedFolders(s storer.EncodedObjectStorer, a, b plumbing.Hash, prefix string, report func(string)) error {
	if a == b {
		return nil
	}
	ea, err := treeEntries(s, a)
	if err != nil {
		return err
	}
	eb, err := treeEntries(s, b)
	if err != nil {
		return err
	}
	names := make(map[string]struct{}, len(ea)+len(eb))
	for n := range ea {
		names[n] = struct{}{}
	}
	for n := range eb {
		names[n] = struct{}{}
	}
	for n := range names {
		x, y := ea[n], eb[n]
		if x == y {
			continue
		}
		if x.Mode != filemode.Dir && y.Mode != filemode.Dir {
			continue
		}
		folder := prefix + n
		report(folder)
		xa, yb := plumbing.ZeroHash, plumbing.ZeroHash
		if x.Mode == filemode.Dir {
			xa = x.Hash
		}
		if y.Mode == filemode.Dir {
			yb = y.Hash
		}
		if err := changedFolders(s, xa, yb, folder+"/", report); err != nil {
			return err
		}
	}
	return nil
}

func treeEntries(s storer.EncodedObjectStorer, h plumbing.Hash) (map[string]object.TreeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, err
	}
	m := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	return m, nil
}

// touches returns the commits that changed folder, newest first.
func (x *index) touches(folder string) []touch {
	ts := append([]touch(nil), x.Folders[folder]...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Seq > ts[j].Seq })
	return ts
}
