package handlers

import (
	"sync"

	"github.com/auger-dev/auger/commands"
)

// Ref is what a push event said about a commit.
type Ref struct {
	Branch string
	Tag    string
	Commit *commands.Commit
}

// Refs remembers recent pushes by repository and sha (bounded; the oldest are forgotten
// first). It only saves requests and tells tags from branches: losing it on a restart
// costs a GitHub request per commit, nothing else.
type Refs struct {
	mu    sync.Mutex
	refs  map[string]Ref
	order []string
	max   int
}

// NewRefs remembers at most max commits.
func NewRefs(max int) *Refs { return &Refs{refs: map[string]Ref{}, max: max} }

// Put remembers a commit's ref; a tag push of a commit already pushed to a branch
// keeps both.
func (r *Refs) Put(repo, sha string, ref Ref) {
	key := repo + "@" + sha
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.refs[key]; ok {
		if ref.Branch == "" {
			ref.Branch = old.Branch
		}
		if ref.Tag == "" {
			ref.Tag = old.Tag
		}
		if ref.Commit == nil {
			ref.Commit = old.Commit
		}
	} else {
		r.order = append(r.order, key)
	}
	r.refs[key] = ref
	for len(r.order) > r.max {
		delete(r.refs, r.order[0])
		r.order = r.order[1:]
	}
}

// Get returns what a push said about a commit.
func (r *Refs) Get(repo, sha string) (Ref, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, ok := r.refs[repo+"@"+sha]
	return ref, ok
}
