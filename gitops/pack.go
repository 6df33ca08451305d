package gitops

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// maxMemoryPack is the largest pack storePack indexes in memory; a larger one goes
// through go-git's pack writer, which indexes it from the file as it is written.
const maxMemoryPack = 32 << 20

// storePack stores a pack the remote sent into the cache. go-git's pack writer indexes
// a pack by reading back the file it is writing, and its parser inflates every object
// twice: for the tip of a 20,000-file repository from a server without partial clone,
// that parser was 86% of the cold write's CPU, a read system call per object an eighth
// (measured with pprof). A pack of up to maxMemoryPack is read whole and indexed in one
// pass in memory instead (indexPack), then written with its index; the cache's storage
// is then reopened to see it.
func (r *Repo) storePack(st *state, body io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(body, maxMemoryPack+1))
	if err != nil {
		return err
	}
	if len(data) > maxMemoryPack {
		return packfile.UpdateObjectStorage(st.s.Storage, io.MultiReader(bytes.NewReader(data), body))
	}
	checksum, idx, err := indexPack(data)
	if errors.Is(err, errPackNotSimple) {
		// A thin pack (a base the cache holds), or too large to resolve in memory:
		// go-git's parser, which reads bases from the storage.
		return packfile.UpdateObjectStorage(st.s.Storage, bytes.NewReader(data))
	}
	if err != nil {
		return fmt.Errorf("index the fetched pack: %w", err)
	}
	if idx == nil {
		return nil // nothing sent, or a pack of no objects
	}
	dir := filepath.Join(r.dir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	base := filepath.Join(dir, "pack-"+checksum.String())
	// The pack first, then its index: a pack without an index is ignored, an index
	// without its pack is not.
	if err := writeFileAtomic(base+".pack", data); err != nil {
		return err
	}
	var encoded bytes.Buffer
	if _, err := idxfile.NewEncoder(&encoded).Encode(idx); err != nil {
		return err
	}
	if err := writeFileAtomic(base+".idx", encoded.Bytes()); err != nil {
		return err
	}
	return st.reopen()
}

// writeFileAtomic writes a file under a temporary name and renames it into place.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errPackNotSimple says indexPack cannot index a pack alone: it is thin (a delta's base
// is not in it) or its objects are too large to keep in memory.
var errPackNotSimple = errors.New("pack needs the storage or too much memory to index")

// maxIndexMemory bounds the inflated objects indexPack keeps to resolve deltas.
const maxIndexMemory = 64 << 20

// indexPack reads a whole pack (git's pack format, version 2 or 3) and returns its
// checksum and index (nil for no pack or an empty one), inflating each object once: every object's content is kept, as
// any may be the base of a later delta (a pack without thin deltas stores a base before
// the deltas made from it when offsets name them, as git does).
func indexPack(data []byte) (plumbing.Hash, *idxfile.MemoryIndex, error) {
	const header, trailer = 12, 20
	if len(data) == 0 {
		return plumbing.ZeroHash, nil, nil
	}
	if len(data) < header+trailer || string(data[:4]) != "PACK" {
		return plumbing.ZeroHash, nil, errors.New("not a pack")
	}
	if v := binary.BigEndian.Uint32(data[4:8]); v != 2 && v != 3 {
		return plumbing.ZeroHash, nil, fmt.Errorf("pack version %d", v)
	}
	count := binary.BigEndian.Uint32(data[8:12])
	if count == 0 {
		return plumbing.ZeroHash, nil, nil
	}
	body := data[:len(data)-trailer]
	var checksum plumbing.Hash
	copy(checksum[:], data[len(data)-trailer:])
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], checksum[:]) {
		return plumbing.ZeroHash, nil, errors.New("pack checksum mismatch")
	}

	type object struct {
		t       plumbing.ObjectType
		content []byte
	}
	byOffset := make(map[int64]object, count)
	byHash := make(map[plumbing.Hash]int64, count)
	w := new(idxfile.Writer)
	if err := w.OnHeader(count); err != nil {
		return plumbing.ZeroHash, nil, err
	}
	r := bytes.NewReader(body)
	if _, err := r.Seek(header, io.SeekStart); err != nil {
		return plumbing.ZeroHash, nil, err
	}
	var zr io.ReadCloser
	kept := 0
	for i := uint32(0); i < count; i++ {
		start := int64(len(body) - r.Len())
		t, _, err := readObjectHeader(r)
		if err != nil {
			return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
		}
		var base object
		switch t {
		case plumbing.OFSDeltaObject:
			back, err := readOffset(r)
			if err != nil {
				return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
			}
			var ok bool
			if base, ok = byOffset[start-back]; !ok {
				return plumbing.ZeroHash, nil, errPackNotSimple
			}
		case plumbing.REFDeltaObject:
			var h plumbing.Hash
			if _, err := io.ReadFull(r, h[:]); err != nil {
				return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
			}
			off, ok := byHash[h]
			if !ok {
				return plumbing.ZeroHash, nil, errPackNotSimple
			}
			base = byOffset[off]
		}
		if zr == nil {
			if zr, err = zlib.NewReader(r); err != nil {
				return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
			}
		} else if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
			return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
		}
		content, err := io.ReadAll(zr)
		if err != nil {
			return plumbing.ZeroHash, nil, fmt.Errorf("inflate object %d: %w", i, err)
		}
		if t == plumbing.OFSDeltaObject || t == plumbing.REFDeltaObject {
			if content, err = packfile.PatchDelta(base.content, content); err != nil {
				return plumbing.ZeroHash, nil, fmt.Errorf("object %d: %w", i, err)
			}
			t = base.t
		}
		if kept += len(content); kept > maxIndexMemory {
			return plumbing.ZeroHash, nil, errPackNotSimple
		}
		end := int64(len(body) - r.Len())
		h := plumbing.ComputeHash(t, content)
		byOffset[start] = object{t: t, content: content}
		byHash[h] = start
		if err := w.OnInflatedObjectContent(h, start, crc32.ChecksumIEEE(body[start:end]), nil); err != nil {
			return plumbing.ZeroHash, nil, err
		}
	}
	if r.Len() != 0 {
		return plumbing.ZeroHash, nil, fmt.Errorf("%d bytes after the last of %d objects", r.Len(), count)
	}
	if err := w.OnFooter(checksum); err != nil {
		return plumbing.ZeroHash, nil, err
	}
	idx, err := w.Index()
	return checksum, idx, err
}

// readObjectHeader reads an object's type and inflated size.
func readObjectHeader(r io.ByteReader) (plumbing.ObjectType, int64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	t := plumbing.ObjectType((c >> 4) & 7)
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if c, err = r.ReadByte(); err != nil {
			return 0, 0, err
		}
		if shift > 56 {
			return 0, 0, errors.New("object size overflows")
		}
		size |= int64(c&0x7f) << shift
	}
	switch t {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject, plumbing.OFSDeltaObject, plumbing.REFDeltaObject:
		return t, size, nil
	}
	return 0, 0, fmt.Errorf("unknown object type %d", t)
}

// readOffset reads an OFS_DELTA's distance back to its base (git's offset encoding).
func readOffset(r io.ByteReader) (int64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	off := int64(c & 0x7f)
	for c&0x80 != 0 {
		if c, err = r.ReadByte(); err != nil {
			return 0, err
		}
		if off > 1<<55 {
			return 0, errors.New("delta offset overflows")
		}
		off = ((off + 1) << 7) | int64(c&0x7f)
	}
	return off, nil
}
