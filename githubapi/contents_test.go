package githubapi_test

import (
	"context"
	"testing"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/internal/githubfake"
)

// TagCommit tells a tag's check suite from a branch's: the tag must exist and name the
// commit, lightweight or annotated (peeled), in one request that also tells the commit.
func TestTagCommit(t *testing.T) {
	f := githubfake.New(t)
	c := fakeClient(t, f)
	ctx := context.Background()
	repo := commands.RepoRef{Owner: "acme", Name: "frontend"}
	r := f.AddRepo("acme", "frontend")
	old := r.AddCommit(githubfake.Commit{Branch: "main", Message: "old", Files: map[string]string{"a": "1"}})
	head := r.AddCommit(githubfake.Commit{Branch: "main", Message: "new", Files: map[string]string{"a": "2"}})
	r.AddCommit(githubfake.Commit{Branch: "release/1", Parents: []string{head}, Message: "release"})
	r.AddTag("v1", head)
	r.AddAnnotatedTag("v2", head, "Release v2")
	r.AddAnnotatedTag("v0", old, "Release v0")
	r.AddTag("release/1", old) // a tag and a branch of one name

	tests := []struct {
		tag, sha string
		want     bool
		requests int
	}{
		{"v1", head, true, 1},         // lightweight, at the commit
		{"v1", old, false, 1},         // lightweight, elsewhere
		{"v2", head, true, 1},         // annotated, peeled
		{"v0", head, false, 1},        // annotated, elsewhere
		{"main", head, false, 1},      // a branch, no tag
		{"release/1", old, true, 1},   // the tag of that name
		{"release/1", head, false, 1}, // not the branch's head
		{"v9", head, false, 1},        // no such tag
		{"a..b", head, false, 0},      // no tag can have that name
	}
	for _, tc := range tests {
		before := len(f.Requests())
		commit, ok, err := c.TagCommit(ctx, repo, tc.tag)
		if got := ok && commit.SHA == tc.sha; err != nil || got != tc.want {
			t.Errorf("TagCommit(%s) = %.7s, %v, %v; want it at %.7s: %v", tc.tag, commit.SHA, ok, err, tc.sha, tc.want)
		}
		if ok && commit.Message == "" {
			t.Errorf("TagCommit(%s) told no commit details: %+v", tc.tag, commit)
		}
		if n := len(f.Requests()) - before; n != tc.requests {
			t.Errorf("TagCommit(%s) made %d requests, want %d", tc.tag, n, tc.requests)
		}
	}
}

// ReadDir with Blobs reads a file only when its content was not read before in that
// repository: the listing names each file's blob sha.
func TestReadDirReadsEachBlobOnce(t *testing.T) {
	f := githubfake.New(t)
	c := fakeClient(t, f).WithBlobs(githubapi.NewBlobs(16))
	ctx := context.Background()
	r := f.AddRepo("acme", "frontend")
	other := f.AddRepo("acme", "backend")
	files := map[string]string{".auger/a.yaml": "app: a\n", ".auger/b.yaml": "app: b\n"}
	first := r.AddCommit(githubfake.Commit{Branch: "main", Message: "one", Files: files})
	files[".auger/b.yaml"] = "app: b2\n"
	second := r.AddCommit(githubfake.Commit{Branch: "main", Message: "two", Parents: []string{first}, Files: files})
	elsewhere := other.AddCommit(githubfake.Commit{Branch: "main", Message: "same files", Files: files})

	tests := []struct {
		repo     commands.RepoRef
		sha      string
		requests int
		b        string
	}{
		{commands.RepoRef{Owner: "acme", Name: "frontend"}, first, 3, "app: b\n"},     // the listing and both files
		{commands.RepoRef{Owner: "acme", Name: "frontend"}, first, 1, "app: b\n"},     // the listing alone
		{commands.RepoRef{Owner: "acme", Name: "frontend"}, second, 2, "app: b2\n"},   // b changed
		{commands.RepoRef{Owner: "acme", Name: "backend"}, elsewhere, 3, "app: b2\n"}, // another repository reads its own
	}
	for i, tc := range tests {
		before := len(f.Requests())
		got, err := c.ReadDir(ctx, tc.repo, tc.sha, ".auger")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(f.Requests()) - before; n != tc.requests {
			t.Errorf("read %d: %d requests, want %d", i, n, tc.requests)
		}
		if len(got) != 2 || string(got[0].Content) != "app: a\n" || string(got[1].Content) != tc.b {
			t.Errorf("read %d: %+v", i, got)
		}
	}
}
