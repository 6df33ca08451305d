package githubapi_test

import (
	"context"
	"testing"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
)

// TagPointsAt tells a tag's check suite from a branch's: the tag must exist and name the
// commit, a lightweight tag in one request, an annotated one peeled in a second.
func TestTagPointsAt(t *testing.T) {
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
		{"v2", head, true, 2},         // annotated, peeled
		{"v0", head, false, 2},        // annotated, elsewhere
		{"main", head, false, 1},      // a branch, no tag
		{"release/1", old, true, 1},   // the tag of that name
		{"release/1", head, false, 1}, // not the branch's head
		{"v9", head, false, 1},        // no such tag
		{"a..b", head, false, 0},      // no tag can have that name
		{"v1", "not-a-sha", false, 0},
	}
	for _, tc := range tests {
		before := len(f.Requests())
		got, err := c.TagPointsAt(ctx, repo, tc.tag, tc.sha)
		if err != nil || got != tc.want {
			t.Errorf("TagPointsAt(%s, %.7s) = %v, %v; want %v", tc.tag, tc.sha, got, err, tc.want)
		}
		if n := len(f.Requests()) - before; n != tc.requests {
			t.Errorf("TagPointsAt(%s, %.7s) made %d requests, want %d", tc.tag, tc.sha, n, tc.requests)
		}
	}
}
