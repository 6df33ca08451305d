package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// indexPack indexes a pack git made (with deltas against earlier objects) exactly as
// go-git's parser does; a thin pack, whose bases are elsewhere, is left to go-git, and
// a damaged pack is an error, never a panic.
func TestIndexPackAgreesWithGoGit(t *testing.T) {
	dir := t.TempDir()
	git := func(stdin string, args ...string) []byte {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@x")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return out
	}
	git("", "init", "-q", "-b", "main")
	var first string
	for c := 0; c < 5; c++ {
		for f := 0; f < 20; f++ {
			// Files much alike, changing a little each commit: git stores deltas.
			body := strings.Repeat(fmt.Sprintf("line of file %d\n", f), 40) + fmt.Sprintf("commit %d\n", c)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.yaml", f)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git("", "add", "-A")
		git("", "commit", "-qm", fmt.Sprint("commit ", c))
		if c == 0 {
			first = strings.TrimSpace(string(git("", "rev-parse", "HEAD")))
		}
	}
	full := git("main\n", "pack-objects", "--stdout", "--revs")
	thin := git("main\n^"+first+"\n", "pack-objects", "--stdout", "--revs", "--thin")

	checksum, idx, err := indexPack(full)
	if err != nil {
		t.Fatal(err)
	}
	w := new(idxfile.Writer)
	parser, err := packfile.NewParser(packfile.NewScanner(bytes.NewReader(full)), w)
	if err != nil {
		t.Fatal(err)
	}
	want, err := parser.Parse()
	if err != nil {
		t.Fatal(err)
	}
	wantIdx, _ := w.Index()
	var got, expected bytes.Buffer
	if _, err := idxfile.NewEncoder(&got).Encode(idx); err != nil {
		t.Fatal(err)
	}
	if _, err := idxfile.NewEncoder(&expected).Encode(wantIdx); err != nil {
		t.Fatal(err)
	}
	if checksum != want || !bytes.Equal(got.Bytes(), expected.Bytes()) {
		t.Errorf("index differs from go-git's: checksum %s, want %s", checksum, want)
	}
	if n, _ := idx.Count(); n < 100 {
		t.Errorf("%d objects indexed", n)
	}

	if _, _, err := indexPack(thin); !errors.Is(err, errPackNotSimple) {
		t.Errorf("thin pack: %v, want errPackNotSimple", err)
	}
	for _, damaged := range [][]byte{full[:len(full)/2], append(append([]byte{}, full[:40]...), make([]byte, len(full)-40)...), []byte("PACK")} {
		if _, _, err := indexPack(damaged); err == nil {
			t.Errorf("a damaged pack of %d bytes was indexed", len(damaged))
		}
	}
}
