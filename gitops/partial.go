package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// A write reads the tip's trees, the app folder's few files and the locks, never the
// other 20,000 files of a large repository. When the remote offers partial clone (the
// filter capability, and wants by object id, as GitHub does), an empty cache fetches
// the tip without blobs, like `git clone --depth 1 --filter=blob:none`, and a blob is
// fetched when it is first read. The cache then carries partialMarker.
const partialMarker = "auger-partial"

// lazyStorage is the cache's storage; in a partial cache it fetches missing blobs.
type lazyStorage struct {
	*filesystem.Storage
	// fetch fetches objects by id; nil when the cache holds every blob it has trees for.
	fetch func(hs []plumbing.Hash) error
}

// EncodedObject is the storage's, fetching a missing blob in a partial cache. Only
// blobs: a missing commit is the shallow boundary, which deepen crosses on purpose.
func (l *lazyStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := l.Storage.EncodedObject(t, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) && l.fetch != nil && t == plumbing.BlobObject {
		if err := l.fetch([]plumbing.Hash{h}); err != nil {
			return nil, err
		}
		return l.Storage.EncodedObject(t, h)
	}
	return o, err
}

// HasEncodedObject tells whether the cache holds h, loose or in a pack. go-git's own,
// on a storage with ExclusiveAccess (the cache's), looks only among the loose objects
// and answers "not found" for every packed one: the tip already fetched was fetched
// again, an incremental fetch found no older tip to start from, and a write fetched
// blobs the cache had (measured: two more requests per warm write). The size of an
// object is found without inflating it.
func (l *lazyStorage) HasEncodedObject(h plumbing.Hash) error {
	_, err := l.Storage.EncodedObjectSize(h)
	return err
}

// prefetch fetches in one request the blobs among hs the cache lacks.
func (l *lazyStorage) prefetch(hs []plumbing.Hash) error {
	if l.fetch == nil {
		return nil
	}
	var missing []plumbing.Hash
	for _, h := range hs {
		if l.HasEncodedObject(h) != nil {
			missing = append(missing, h)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return l.fetch(missing)
}

// partial tells whether the cache may lack blobs.
func (r *Repo) partial() bool {
	_, err := os.Stat(filepath.Join(r.dir, partialMarker))
	return err == nil
}

// supportsPartial tells whether the remote serves a blob-less fetch and then blobs by
// id. Over HTTP every request is checked for reachability anyway (git serves any
// reachable object to a stateless client), so the filter capability is enough; over
// SSH the server must also advertise allow-reachable-sha1-in-want (a blob is never a
// tip).
func (r *Repo) supportsPartial(caps *capability.List) bool {
	stateless := strings.HasPrefix(r.ep.url, "https://") || strings.HasPrefix(r.ep.url, "http://")
	return caps.Supports(capability.Filter) && (stateless || caps.Supports(capability.AllowReachableSHA1InWant))
}

// fetchTip brings the branch's tip into an empty or shallow cache and returns it
// (ZeroHash when the branch does not exist). An empty cache asks for the tip alone
// (depth 1), without blobs when the remote offers partial clone; a cache that has an
// older tip asks for what is new since it (blobs included: they are the few files
// changed since), which git sends without re-sending the trees it shares with it. It returns errNoShallow, having fetched nothing, when the
// remote cannot serve a shallow fetch.
func (r *Repo) fetchTip(ctx context.Context, st *state) (plumbing.Hash, error) {
	sess, ar, err := r.uploadPackSession(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer sess.Close()
	if !ar.Capabilities.Supports(capability.Shallow) {
		return plumbing.ZeroHash, errNoShallow
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ref, ok := refs[plumbing.NewBranchReferenceName(r.opts.Branch)]
	if !ok {
		return plumbing.ZeroHash, nil
	}
	tip := ref.Hash()
	if st.s.HasEncodedObject(tip) != nil {
		req := r.uploadPackRequest(ar)
		req.Wants = []plumbing.Hash{tip}
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return plumbing.ZeroHash, err
		}
		if req.Shallows, err = st.s.Shallow(); err != nil {
			return plumbing.ZeroHash, err
		}
		if old, err := st.s.Reference(r.trackingRef()); err == nil && st.s.HasEncodedObject(old.Hash()) == nil {
			req.Haves = []plumbing.Hash{old.Hash()}
		} else {
			req.Depth = packp.DepthCommits(1)
		}
		partial := r.partial()
		if !partial && req.Haves == nil && r.supportsPartial(ar.Capabilities) {
			// A new cache: partial from the start, or never (a full cache must not
			// start missing blobs).
			if err := os.WriteFile(filepath.Join(r.dir, partialMarker), nil, 0o600); err != nil {
				return plumbing.ZeroHash, err
			}
			partial = true
		}
		// What is new since an older tip is a few changed files: blobs included, so
		// the write does not ask for them in a second request.
		if partial && req.Haves == nil && ar.Capabilities.Supports(capability.Filter) {
			req.Filter = packp.FilterBlobNone()
			if err := req.Capabilities.Set(capability.Filter); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		if err := r.receivePack(ctx, sess, st, req); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	if err := st.s.SetReference(plumbing.NewHashReference(r.trackingRef(), tip)); err != nil {
		return plumbing.ZeroHash, err
	}
	return tip, nil
}

// errNoShallow says the remote cannot serve a shallow fetch.
var errNoShallow = errors.New("the remote does not offer shallow fetches")

// fetchObjects fetches objects by id (blobs a partial cache lacks), in one request.
func (r *Repo) fetchObjects(ctx context.Context, st *state, hs []plumbing.Hash) error {
	sess, ar, err := r.uploadPackSession(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	req := r.uploadPackRequest(ar)
	req.Wants = hs
	if err := r.receivePack(ctx, sess, st, req); err != nil {
		return fmt.Errorf("fetch %d objects: %w", len(hs), err)
	}
	return nil
}

func (r *Repo) uploadPackSession(ctx context.Context) (transport.UploadPackSession, *packp.AdvRefs, error) {
	ep, err := transport.NewEndpoint(r.ep.url)
	if err != nil {
		return nil, nil, err
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, err
	}
	sess, err := cl.NewUploadPackSession(ep, r.ep.auth)
	if err != nil {
		return nil, nil, err
	}
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	return sess, ar, nil
}

func (r *Repo) uploadPackRequest(ar *packp.AdvRefs) *packp.UploadPackRequest {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	if ar.Capabilities.Supports(capability.NoProgress) {
		_ = req.Capabilities.Set(capability.NoProgress)
	}
	return req
}

// receivePack sends req and stores the pack it answers, recording new shallow commits.
func (r *Repo) receivePack(ctx context.Context, sess transport.UploadPackSession, st *state, req *packp.UploadPackRequest) (err error) {
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := resp.Close(); err == nil {
			err = cerr
		}
	}()
	if len(resp.Shallows) > 0 {
		shallow, err := st.s.Shallow()
		if err != nil {
			return err
		}
		if err := st.s.SetShallow(append(shallow, resp.Shallows...)); err != nil {
			return err
		}
	}
	var body io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		body = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		body = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	return r.storePack(st, body)
}
