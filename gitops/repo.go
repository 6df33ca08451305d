package gitops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
	"github.com/gofrs/flock"
)

// Defaults applied by Open when Options leave them empty.
const (
	DefaultBranch      = "main"
	DefaultMaxAttempts = 8
	DefaultAuthorName  = "Auger"
	DefaultAuthorEmail = "auger@users.noreply.github.com"
	// DefaultRedeliveryWindow is how far back a write looks for its trigger: longer
	// than GitHub keeps deliveries for redelivery (3 days) and than Auger's catch-up.
	DefaultRedeliveryWindow = 7 * 24 * time.Hour
	// FetchAttempts is how often one write tries to reach the remote when it fails
	// (a timeout, a 5xx): an outage costs at most this many fetches per write.
	FetchAttempts = 2
)

// Options tune how a Repo writes.
type Options struct {
	// Branch is the gitops branch releases land on (default main).
	Branch string
	// CacheDir holds one cached clone per repository (default: the user cache dir).
	CacheDir string
	// AuthorName and AuthorEmail sign Auger's commits.
	AuthorName  string
	AuthorEmail string
	// MaxAttempts bounds how often a write is re-applied after its push was rejected
	// because someone else moved the branch.
	MaxAttempts int
	// RedeliveryWindow is how far back (by commit time) a write looks for a commit that
	// already carries its trigger (default DefaultRedeliveryWindow).
	RedeliveryWindow time.Duration
	// CacheMaxBytes bounds the size of CacheDir across repositories, and CacheIdle
	// evicts a repository's clone unused for that long (defaults DefaultCacheMaxBytes
	// and DefaultCacheIdle; negative turns the bound off).
	CacheMaxBytes int64
	CacheIdle     time.Duration
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// Repo is a gitops repository seen through a cached clone. It is safe for concurrent
// use; writes from several processes (or replicas) agree through git's
// compare-and-swap on push.
type Repo struct {
	ep   endpoint
	opts Options
	dir  string
	// mu serialises this process's use of the cache; lock does it across processes.
	mu   sync.Mutex
	lock *flock.Flock
	// maxPacks is how many packs a shallow clone may pile up before it is dropped.
	maxPacks int
}

// Result says what a write did.
type Result struct {
	// Commit is the new gitops commit, or the current one when nothing changed.
	Commit string
	// Changed is false when the write found nothing to do (same content, or a trigger
	// already recorded).
	Changed bool
	// Recorded is true when nothing was done because the trigger was already recorded:
	// a redelivered request, whose answer was already given.
	Recorded bool
	// Branch is the branch written.
	Branch string
	// Diff is what a release changed among the app's objects.
	Diff Diff
}

// Diff names the object files a release added, changed and removed.
type Diff struct {
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// ErrRejected is returned when a push was still rejected after every retry.
var ErrRejected = errors.New("push rejected: the branch kept moving")

// Open prepares the cached clone of remote. It does not contact the remote; the first
// read or write does.
func Open(remote Remote, opts Options) (*Repo, error) {
	if opts.Branch == "" {
		opts.Branch = DefaultBranch
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.AuthorName == "" {
		opts.AuthorName = DefaultAuthorName
	}
	if opts.AuthorEmail == "" {
		opts.AuthorEmail = DefaultAuthorEmail
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RedeliveryWindow <= 0 {
		opts.RedeliveryWindow = DefaultRedeliveryWindow
	}
	if opts.CacheMaxBytes == 0 {
		opts.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if opts.CacheIdle == 0 {
		opts.CacheIdle = DefaultCacheIdle
	}
	if err := plumbing.NewBranchReferenceName(opts.Branch).Validate(); err != nil || strings.ContainsAny(opts.Branch, " ~^:?*[\\") {
		return nil, fmt.Errorf("gitops branch %q: not a valid branch name", opts.Branch)
	}
	ep, err := remote.resolve(opts.Branch)
	if err != nil {
		return nil, err
	}
	if opts.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		opts.CacheDir = filepath.Join(base, "auger", "gitops")
	}
	sum := sha256.Sum256([]byte(ep.url))
	name := hex.EncodeToString(sum[:8])
	dir := filepath.Join(opts.CacheDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gitops cache %s: %w", dir, err)
	}
	pruneCache(opts, name)
	return &Repo{ep: ep, opts: opts, dir: dir, lock: flock.New(filepath.Join(opts.CacheDir, name+".lock")), maxPacks: maxPacks}, nil
}

// String names the repository without credentials.
func (r *Repo) String() string { return r.ep.redacted }

// Branch is the branch this Repo reads and writes.
func (r *Repo) Branch() string { return r.opts.Branch }

// state is one consistent view of the branch: the cache storage, the tip fetched from
// the remote and its root tree, and a writer for new objects. The cache may hold only
// the tip (a shallow clone); idx, the log index, is built on first use (index), which
// fetches the whole history.
type state struct {
	s    *lazyStorage
	tip  plumbing.Hash
	root plumbing.Hash
	w    *objectWriter
	idx  *index

	r     *Repo
	ctx   context.Context
	depth int // how deep the shallow history is known to be fetched (0: whole)
}

// openStorage opens the cache's storage. Auger's is the only process that writes the
// cache while the session holds its lock, so the storage may keep its list of packs.
func (r *Repo) openStorage() *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(r.dir), cache.NewObjectLRUDefault(), filesystem.Options{ExclusiveAccess: true})
}

// reopen opens the cache's storage again, to see a pack written beside it (storePack).
func (st *state) reopen() error {
	old := st.s.Storage
	st.s.Storage = st.r.openStorage()
	return old.Close()
}

// session runs fn with the cache locked and freshly fetched.
func (r *Repo) session(ctx context.Context, fn func(*state) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok, err := r.lock.TryLockContext(ctx, 20*time.Millisecond); err != nil || !ok {
		return fmt.Errorf("lock gitops cache %s: %w", r.dir, errors.Join(err, ctx.Err()))
	}
	defer r.lock.Unlock()

	s := &lazyStorage{Storage: r.openStorage()}
	defer func() { s.Storage.Close() }()
	if _, err := os.Stat(filepath.Join(r.dir, "config")); errors.Is(err, os.ErrNotExist) {
		if _, err := git.Init(s, nil); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
			return fmt.Errorf("gitops cache %s: %w", r.dir, err)
		}
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil { // pruneCache may have evicted it
		return fmt.Errorf("gitops cache %s: %w", r.dir, err)
	}
	now := time.Now()
	_ = os.Chtimes(r.dir, now, now) // the cache's idle eviction reads this
	r.compact()
	st := &state{s: s, w: &objectWriter{s: s}, r: r, ctx: ctx}
	if err := r.fetch(ctx, st); err != nil {
		return err
	}
	if r.partial() {
		s.fetch = func(hs []plumbing.Hash) error { return r.fetchObjects(ctx, st, hs) }
	}
	if err := fn(st); err != nil {
		return err
	}
	if st.idx != nil && st.idx.dirty {
		return st.idx.save(r.indexPath())
	}
	return nil
}

// index returns the log index, fetching the whole history first if the cache holds
// only its tip. Logs, rollbacks and the listing of apps need it; writes do not.
func (st *state) index() (*index, error) {
	if st.idx != nil {
		return st.idx, nil
	}
	if err := st.deepen(0); err != nil {
		return nil, err
	}
	idx, err := loadIndex(st.r.indexPath())
	if err != nil {
		return nil, err
	}
	if err := idx.update(st.s, st.tip); err != nil {
		return nil, fmt.Errorf("index gitops history of %s: %w", st.r.ep.redacted, err)
	}
	st.idx = idx
	return idx, nil
}

// deepen fetches depth commits of history below the remote tip (0: all of it) when
// the cache holds less.
func (st *state) deepen(depth int) error {
	if st.depth == 0 || (depth > 0 && depth <= st.depth) {
		return nil
	}
	full := depth == 0
	if full {
		depth = math.MaxInt32 // what `git fetch --unshallow` asks for
	}
	opts := st.r.fetchOptions()
	opts.Depth = depth
	err := git.NewRemote(st.s, &config.RemoteConfig{Name: "origin", URLs: []string{st.r.ep.url}}).FetchContext(st.ctx, opts)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return st.r.remoteErr("fetch history", err)
	}
	if full {
		// go-git only ever adds to .git/shallow; with the whole history there is no
		// boundary left.
		if err := st.s.SetShallow(nil); err != nil {
			return fmt.Errorf("gitops cache %s: %w", st.r.dir, err)
		}
		st.depth = 0
		return nil
	}
	st.depth = depth
	return nil
}

func (r *Repo) trackingRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName("origin", r.opts.Branch)
}

func (r *Repo) indexPath() string {
	return filepath.Join(r.dir, "auger-index-"+strings.ReplaceAll(r.opts.Branch, "/", "%")+".gob")
}

func (r *Repo) fetchOptions() *git.FetchOptions {
	return &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", r.opts.Branch, r.trackingRef()))},
		Auth:       r.ep.auth,
		Tags:       git.NoTags,
	}
}

// fetch brings the branch's tip into the cache and sets st.tip and st.root. An empty
// or shallow cache fetches the tip alone (depth 1); a cache that holds the whole
// history (because a log needed it) fetches the new commits, so its index can follow.
func (r *Repo) fetch(ctx context.Context, st *state) error {
	rem := git.NewRemote(st.s, &config.RemoteConfig{Name: "origin", URLs: []string{r.ep.url}})
	opts := r.fetchOptions()
	shallow, err := st.s.Shallow()
	if err != nil {
		return fmt.Errorf("gitops cache %s: %w", r.dir, err)
	}
	_, rerr := st.s.Reference(r.trackingRef())
	empty := rerr != nil
	if empty || len(shallow) > 0 {
		opts.Depth, st.depth = 1, 1
	}
	if empty || len(shallow) > 0 {
		tip, err := r.fetchTip(ctx, st)
		switch {
		case err == nil && tip.IsZero():
			// The branch does not exist yet: the first write creates it.
			_ = st.s.RemoveReference(r.trackingRef())
			st.tip, st.root = plumbing.ZeroHash, plumbing.ZeroHash
			return nil
		case err == nil:
			c, err := object.GetCommit(st.s, tip)
			if err != nil {
				return fmt.Errorf("read %s of %s: %w", r.opts.Branch, r.ep.redacted, err)
			}
			st.tip, st.root = c.Hash, c.TreeHash
			return nil
		case !errors.Is(err, errNoShallow):
			return r.fetchErr(err)
		}
	}
	err = rem.FetchContext(ctx, opts)
	if errors.Is(err, dotgit.ErrEmptyRefFile) {
		// go-git rewrites a ref file in place (truncate, then write), so a process killed
		// in between leaves it empty. The tracking ref only remembers where the remote
		// branch was: drop it and fetch again.
		if rerr := st.s.RemoveReference(r.trackingRef()); rerr != nil {
			return fmt.Errorf("repair gitops cache %s: %w", r.dir, rerr)
		}
		err = rem.FetchContext(ctx, opts)
	}
	var noMatch git.NoMatchingRefSpecError
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &noMatch):
		// The branch does not exist yet: the first write creates it.
		_ = st.s.RemoveReference(r.trackingRef())
		st.tip, st.root = plumbing.ZeroHash, plumbing.ZeroHash
		return nil
	default:
		return r.fetchErr(err)
	}
	ref, err := st.s.Reference(r.trackingRef())
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", r.opts.Branch, r.ep.redacted, err)
	}
	c, err := object.GetCommit(st.s, ref.Hash())
	if err != nil {
		return fmt.Errorf("read %s of %s: %w", r.opts.Branch, r.ep.redacted, err)
	}
	st.tip, st.root = c.Hash, c.TreeHash
	return nil
}

// fetchErr is remoteErr for a fetch: worth another try unless the credentials or the
// URL are wrong.
func (r *Repo) fetchErr(err error) error {
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) || errors.Is(err, transport.ErrRepositoryNotFound) {
		return r.remoteErr("fetch", err)
	}
	return transientError{r.remoteErr("fetch", err)}
}

// remoteErr turns transport errors into messages that say what to do, with
// credentials removed.
func (r *Repo) remoteErr(op string, err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("%s %s: authentication required: give credentials (a token in the URL or the environment) that may read and push this repository", op, r.ep.redacted)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%s %s: authorization failed: the credentials may not access this repository", op, r.ep.redacted)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: repository not found: check the URL and that the credentials can see it", op, r.ep.redacted)
	}
	return fmt.Errorf("%s %s: %w", op, r.ep.redacted, redactErr(err))
}

// plan is what a change wants committed: a new root tree and the commit's message.
// A nil plan means nothing to do; existing names the commit that already holds it.
type plan struct {
	root     plumbing.Hash
	subject  string
	trailers Trailers
}

// change computes a plan from the current state of the branch. It is called again on
// the new tip when a push is rejected, so it must derive everything from st.
type change func(st *state) (*plan, string, error)

// diffFiles compares an app's object files before and after, leaving out Auger's own.
func diffFiles(before, after map[string][]byte) Diff {
	var d Diff
	for name, data := range after {
		if name == RecordFile || name == KustomizationFile {
			continue
		}
		old, ok := before[name]
		switch {
		case !ok:
			d.Added = append(d.Added, name)
		case !bytes.Equal(old, data):
			d.Changed = append(d.Changed, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok && name != RecordFile && name != KustomizationFile {
			d.Removed = append(d.Removed, name)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Changed)
	sort.Strings(d.Removed)
	return d
}

// write applies ch on the branch tip and pushes it with compare-and-swap, re-applying
// on the new tip when another writer got there first.
func (r *Repo) write(ctx context.Context, ch change) (Result, error) {
	return r.writeTo(ctx, "", ch)
}

// writeTo is write, pushing the commit to the new branch proposal instead when it is
// not empty: the change is built on the branch tip, for a pull request into it.
func (r *Repo) writeTo(ctx context.Context, proposal string, ch change) (Result, error) {
	res := Result{Branch: r.opts.Branch}
	if proposal != "" {
		res.Branch = proposal
	}
	// Two budgets: a rejected push (someone else moved the branch) re-reads the tip and
	// tries again up to MaxAttempts times; a remote that cannot be reached is tried
	// FetchAttempts times. Nothing else is retried here.
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     20 * time.Millisecond,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         time.Second,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	bo.Reset()
	stale, unreachable := 0, 0
	for {
		err := r.session(ctx, func(st *state) error {
			p, existing, err := ch(st)
			if err != nil {
				return err
			}
			if p == nil {
				res.Commit, res.Changed, res.Recorded = existing, false, existing != ""
				if existing == "" && !st.tip.IsZero() {
					res.Commit = st.tip.String()
				}
				return nil
			}
			commit, err := r.commit(st, p)
			if err != nil {
				return err
			}
			if err := r.push(ctx, st, commit, proposal); err != nil {
				var exists proposedError
				if errors.As(err, &exists) {
					res.Commit, res.Recorded = exists.head, true
					return nil
				}
				return err
			}
			res.Commit, res.Changed = commit.String(), true
			return nil
		})
		var tr transientError
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, errStale):
			if stale++; stale >= r.opts.MaxAttempts {
				return res, fmt.Errorf("%s %s: %w after %d attempts; try again", r.ep.redacted, r.opts.Branch, ErrRejected, r.opts.MaxAttempts)
			}
		case errors.As(err, &tr):
			if unreachable++; unreachable >= FetchAttempts {
				return res, tr.error
			}
		default:
			return res, err
		}
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-t.C:
		}
	}
}

// transientError is a remote that could not be reached (a timeout, a 5xx): worth one
// more try, not eight.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

func (r *Repo) commit(st *state, p *plan) (plumbing.Hash, error) {
	root := p.root
	if root.IsZero() {
		// A branch whose last folder was removed still needs a tree.
		h, err := st.w.tree(nil)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		root = h
	}
	now := r.opts.Now().UTC().Truncate(time.Second)
	sig := object.Signature{Name: r.opts.AuthorName, Email: r.opts.AuthorEmail, When: now}
	c := &object.Commit{Author: sig, Committer: sig, Message: message(p.subject, p.trailers), TreeHash: root}
	if !st.tip.IsZero() {
		c.ParentHashes = []plumbing.Hash{st.tip}
	}
	return st.w.put(c, plumbing.CommitObject)
}

// errStale is a push rejected because the branch is no longer where we read it.
var errStale = errors.New("branch moved")

// proposedError says a proposal's branch exists already, at head.
type proposedError struct{ head string }

func (e proposedError) Error() string { return "proposal branch exists at " + e.head }

// push sends exactly the objects this change wrote and moves the branch from st.tip to
// commit, only if the remote branch is still at st.tip (never a force push). With a
// proposal branch, it creates that branch at commit instead, only if it does not exist.
func (r *Repo) push(ctx context.Context, st *state, commit plumbing.Hash, proposal string) error {
	ep, err := transport.NewEndpoint(r.ep.url)
	if err != nil {
		return r.remoteErr("push", err)
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return r.remoteErr("push", err)
	}
	sess, err := cl.NewReceivePackSession(ep, r.ep.auth)
	if err != nil {
		return r.remoteErr("push", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return r.remoteErr("push", err)
	}
	ref := plumbing.NewBranchReferenceName(r.opts.Branch)
	var refs map[plumbing.ReferenceName]*plumbing.Reference
	if ar != nil {
		all, err := ar.AllReferences()
		if err != nil {
			return r.remoteErr("push", err)
		}
		refs = all
	}
	current, old := plumbing.ZeroHash, st.tip
	if cur, ok := refs[ref]; ok {
		current = cur.Hash()
	}
	if current != st.tip {
		return errStale
	}
	if proposal != "" {
		ref, old = plumbing.NewBranchReferenceName(proposal), plumbing.ZeroHash
		if cur, ok := refs[ref]; ok {
			return proposedError{head: cur.Hash().String()}
		}
	}

	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, st.s, false).Encode(unique(st.w.written), 10); err != nil {
		return fmt.Errorf("pack release objects: %w", err)
	}
	req := packp.NewReferenceUpdateRequest()
	if ar != nil {
		req = packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	}
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: commit}}
	req.Packfile = io.NopCloser(&pack)
	status, err := sess.ReceivePack(ctx, req)
	if err == nil && status != nil {
		err = status.Error()
	}
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "currently checked out"):
			return fmt.Errorf("push to %s: branch %s is checked out there; run `git -C %s config receive.denyCurrentBranch updateInstead` or use a bare repository", r.ep.redacted, r.opts.Branch, r.ep.redacted)
		case strings.Contains(msg, "failed to update ref"), strings.Contains(msg, "failed to lock"),
			strings.Contains(msg, "fetch first"), strings.Contains(msg, "non-fast-forward"), strings.Contains(msg, "stale info"):
			return errStale
		}
		return r.remoteErr("push", err)
	}
	if proposal != "" {
		return nil
	}
	if err := st.s.SetReference(plumbing.NewHashReference(r.trackingRef(), commit)); err != nil {
		return fmt.Errorf("record pushed commit in cache: %w", err)
	}
	if st.idx != nil {
		if err := st.idx.update(st.s, commit); err != nil {
			// An index that cannot follow is rebuilt by the next session.
			st.idx.reset()
		}
	}
	return nil
}

func unique(hs []plumbing.Hash) []plumbing.Hash {
	seen := make(map[plumbing.Hash]bool, len(hs))
	out := hs[:0:0]
	for _, h := range hs {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
