package githubapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/githubapi"
	"github.com/auger-dev/auger/internal/githubfake"
)

// fakeClient is a Client for the installation of the fake's "acme" account, on a token
// ghinstallation bought with the App's key.
func fakeClient(t *testing.T, f *githubfake.Fake) *githubapi.Client {
	t.Helper()
	const installation = 7
	f.AddInstallation(installation, "acme")
	tr, err := ghinstallation.New(http.DefaultTransport, f.AppID(), installation, f.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(f.URL, "/")
	token, err := tr.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := githubapi.NewTokenClient(f.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCommitOrigin(t *testing.T) {
	f := githubfake.New(t)
	c := fakeClient(t, f)
	ctx := context.Background()
	repo := commands.RepoRef{Owner: "acme", Name: "frontend"}
	r := f.AddRepo("acme", "frontend")
	old := r.AddCommit(githubfake.Commit{Branch: "main", Message: "old", Files: map[string]string{"a": "1"}})
	head := r.AddCommit(githubfake.Commit{Branch: "main", Message: "new", Files: map[string]string{"a": "2"}})
	r.AddTag("v1", old)
	feature := r.AddCommit(githubfake.Commit{Branch: "release/1", Parents: []string{head}, Message: "feature"})
	// A fork pull request: its head is on no branch of the repository.
	forkSHA := r.AddCommit(githubfake.Commit{Parents: []string{head}, Message: "from a fork", Files: map[string]string{"a": "evil"}})
	fork := r.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: forkSHA, HeadRef: "patch-1", User: "mallory"})
	own := r.AddPullRequest(githubfake.PullRequest{HeadRef: "release/1", User: "jane"})
	r.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: forkSHA, HeadRef: "patch-1", User: "mallory", State: "closed"})

	contains := []struct {
		ref, sha string
		want     bool
	}{
		{"main", head, true},      // identical
		{"main", old, true},       // behind: main contains its old commit
		{"v1", old, true},         // a tag
		{"release/1", head, true}, // a branch with a slash
		{"v1", head, false},       // ahead
		{"main", feature, false},  // ahead
		{"main", forkSHA, false},  // the fork head: reachable, not contained
		{"nope", head, false},     // unknown ref: GitHub's 404
		{"main", strings.Repeat("ab", 20), false},
		{"mallory:main", head, false}, // another repository's branch is never asked
		{"main", "main", false},       // not a commit id
	}
	for _, tc := range contains {
		got, err := c.ContainsCommit(ctx, repo, tc.ref, tc.sha)
		if err != nil || got != tc.want {
			t.Errorf("ContainsCommit(%s, %.7s) = %v, %v; want %v", tc.ref, tc.sha, got, err, tc.want)
		}
	}
	if n := f.Count("repos/compare-commits"); n != len(contains)-2 {
		t.Errorf("%d compare requests, want %d", n, len(contains)-2)
	}
	for _, req := range f.Requests() {
		if req.OperationID == "repos/compare-commits" && !strings.Contains(req.Query, "per_page=1") {
			t.Errorf("compare without per_page=1: %s?%s", req.Path, req.Query)
		}
	}

	prs, err := c.PullRequestsWithHead(ctx, repo, forkSHA)
	if err != nil || len(prs) != 1 {
		t.Fatalf("PullRequestsWithHead(fork head) = %+v, %v", prs, err)
	}
	if pr := prs[0]; pr.Number != fork || pr.HeadRepo != "mallory/frontend" || pr.HeadSHA != forkSHA || pr.HeadRef != "patch-1" || pr.Author != "mallory" || pr.State != "open" {
		t.Errorf("fork pull request: %+v", pr)
	}
	prs, err = c.PullRequestsWithHead(ctx, repo, feature)
	if err != nil || len(prs) != 1 || prs[0].Number != own || prs[0].HeadRepo != "acme/frontend" {
		t.Errorf("PullRequestsWithHead(feature) = %+v, %v", prs, err)
	}
	if prs, err := c.PullRequestsWithHead(ctx, repo, old); err != nil || len(prs) != 0 {
		t.Errorf("PullRequestsWithHead(old) = %+v, %v", prs, err)
	}
}

func TestPullRequestsWithHeadPages(t *testing.T) {
	f := githubfake.New(t)
	c := fakeClient(t, f)
	ctx := context.Background()
	r := f.AddRepo("acme", "frontend")
	base := r.AddCommit(githubfake.Commit{Branch: "main", Message: "base"})
	sha := r.AddCommit(githubfake.Commit{Parents: []string{base}, Message: "fork head"})
	other := r.AddCommit(githubfake.Commit{Parents: []string{base}, Message: "another head"})
	// 350 open pull requests; the oldest has the head: beyond the three pages read.
	r.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: sha, HeadRef: "old", User: "mallory"})
	for i := 0; i < 348; i++ {
		r.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: other, HeadRef: "x", User: "eve"})
	}
	newest := r.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: sha, HeadRef: "new", User: "mallory"})
	prs, err := c.PullRequestsWithHead(ctx, commands.RepoRef{Owner: "acme", Name: "frontend"}, sha)
	if err != nil || len(prs) != 1 || prs[0].Number != newest {
		t.Errorf("PullRequestsWithHead = %+v, %v; want only #%d", prs, err, newest)
	}
	if n := f.Count("pulls/list"); n != 3 {
		t.Errorf("%d pages read, want 3", n)
	}
}
