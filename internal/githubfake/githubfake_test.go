package githubfake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v50/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/auger-dev/auger/internal/githubfake"
)

const installationID = 7

// recorder stands in for the test so a test can assert what the fake reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// world is a fake with one installed org, one repository with two commits and a
// go-githubapp client creator configured as Auger configures it.
type world struct {
	fake    *githubfake.Fake
	repo    *githubfake.Repo
	first   string
	head    string
	creator githubapp.ClientCreator
}

func newWorld(t *testing.T, tb testing.TB) *world {
	t.Helper()
	f := githubfake.New(tb)
	f.AddInstallation(installationID, "acme")
	repo := f.AddRepo("acme", "frontend")
	first := repo.AddCommit(githubfake.Commit{Branch: "main", Message: "initial", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
		Files: map[string]string{"README.md": "hello\n"}})
	head := repo.AddCommit(githubfake.Commit{Branch: "main", Message: "add env config", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
		AuthorLogin: "jane", Files: map[string]string{
			"README.md":            "hello\n",
			".auger/staging.yaml":  "app: frontend\nenv: staging\n",
			".auger/prod.yaml":     "app: frontend\nenv: production\n",
			".auger/charts/c.yaml": "chart: x\n",
		}})
	return &world{fake: f, repo: repo, first: first, head: head, creator: clientCreator(t, f, f.PrivateKeyPEM())}
}

func clientCreator(t *testing.T, f *githubfake.Fake, key []byte) githubapp.ClientCreator {
	t.Helper()
	var cfg githubapp.Config
	cfg.V3APIURL = f.URL
	cfg.App.IntegrationID = f.AppID()
	cfg.App.PrivateKey = string(key)
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		t.Fatalf("client creator: %v", err)
	}
	return cc
}

func (w *world) client(t *testing.T) *github.Client {
	t.Helper()
	c, err := w.creator.NewInstallationClient(installationID)
	if err != nil {
		t.Fatalf("installation client: %v", err)
	}
	return c
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func TestCheckRuns(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	ciID := w.repo.AddCheckRun(w.head, githubfake.CheckRun{Name: "build", Conclusion: "success", AppSlug: "circleci"})
	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "frontend", github.CreateCheckRunOptions{
		Name:       "Auger: artifact",
		HeadSHA:    w.head,
		ExternalID: github.String("acme/frontend-123"),
		Status:     github.String("in_progress"),
		Output: &github.CheckRunOutput{
			Title:   github.String("Artifact"),
			Summary: github.String("| env | app |"),
			Text:    github.String(`{"id":"acme/frontend-123"}`),
			Annotations: []*github.CheckRunAnnotation{
				{Path: github.String(".auger/staging.yaml"), StartLine: github.Int(1), EndLine: github.Int(1), StartColumn: github.Int(1), EndColumn: github.Int(4),
					AnnotationLevel: github.String("warning"), Message: github.String("unknown key")},
			},
		},
		Actions: []*github.CheckRunAction{
			{Label: "Deploy to staging", Description: "Release this artifact to staging", Identifier: "deploy:staging"},
			{Label: "Deploy to prod", Description: "Release this artifact to production", Identifier: "deploy:production"},
		},
	})
	if err != nil {
		t.Fatalf("create check run: %v", err)
	}
	if cr.GetApp().GetSlug() != "auger" || cr.GetStatus() != "in_progress" || cr.GetOutput().GetAnnotationsCount() != 1 {
		t.Errorf("created run: app %q status %q annotations %d", cr.GetApp().GetSlug(), cr.GetStatus(), cr.GetOutput().GetAnnotationsCount())
	}

	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "frontend", cr.GetID(), github.UpdateCheckRunOptions{
		Name:       "Auger: artifact",
		Conclusion: github.String("success"),
		Output: &github.CheckRunOutput{
			Title:   github.String("Artifact recorded"),
			Summary: github.String("done"),
			Annotations: []*github.CheckRunAnnotation{
				{Path: github.String(".auger/prod.yaml"), StartLine: github.Int(2), EndLine: github.Int(2),
					AnnotationLevel: github.String("notice"), Message: github.String("policy matched")},
			},
		},
	})
	if err != nil {
		t.Fatalf("update check run: %v", err)
	}

	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "frontend", "main", &github.ListCheckRunsOptions{CheckName: github.String("Auger: artifact")})
	if err != nil {
		t.Fatalf("list check runs: %v", err)
	}
	if list.GetTotal() != 1 || list.CheckRuns[0].GetConclusion() != "success" || list.CheckRuns[0].GetExternalID() != "acme/frontend-123" {
		t.Errorf("listed %d runs: %+v", list.GetTotal(), list.CheckRuns)
	}
	ci, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "frontend", w.head, &github.ListCheckRunsOptions{Status: github.String("completed")})
	if err != nil || ci.GetTotal() != 2 {
		t.Fatalf("completed runs: %v, %d", err, ci.GetTotal())
	}
	if one, _, err := gh.Checks.GetCheckRun(ctx, "acme", "frontend", cr.GetID()); err != nil || one.GetOutput().GetAnnotationsCount() != 2 {
		t.Errorf("get check run: %v %+v", err, one)
	}
	suite, _, err := gh.Checks.ListCheckRunsCheckSuite(ctx, "acme", "frontend", cr.GetCheckSuite().GetID(), nil)
	if err != nil || suite.GetTotal() != 1 {
		t.Fatalf("runs of Auger's suite: %v, %d", err, suite.GetTotal())
	}
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "frontend", ciID, github.UpdateCheckRunOptions{Name: "build"}); statusOf(err) != http.StatusForbidden {
		t.Errorf("updating CI's run: got %v, want 403", err)
	}

	runs := w.repo.CheckRuns(w.head)
	if len(runs) != 2 {
		t.Fatalf("CheckRuns: %d runs", len(runs))
	}
	got := runs[1]
	if got.AppSlug != "auger" || got.Status != "completed" || got.Output.Title != "Artifact recorded" ||
		got.Output.Text != `{"id":"acme/frontend-123"}` || len(got.Output.Annotations) != 2 || len(got.Actions) != 2 ||
		got.Actions[0].Identifier != "deploy:staging" || got.CompletedAt.IsZero() {
		t.Errorf("stored run: %+v", got)
	}
	if n := w.fake.Count("checks/create"); n != 1 {
		t.Errorf("Count(checks/create) = %d", n)
	}
	for _, r := range w.fake.Requests() {
		if r.OperationID == "checks/create" && r.Installation != installationID {
			t.Errorf("checks/create recorded installation %d", r.Installation)
		}
	}
}

func TestCheckRunLimits(t *testing.T) {
	rec := &recorder{TB: t}
	w := newWorld(t, rec)
	gh := w.client(t)
	ctx := context.Background()

	annotations := make([]*github.CheckRunAnnotation, 51)
	for i := range annotations {
		annotations[i] = &github.CheckRunAnnotation{Path: github.String("a.yaml"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			AnnotationLevel: github.String("failure"), Message: github.String("bad")}
	}
	_, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "frontend", github.CreateCheckRunOptions{
		Name: "Auger: deploy staging", HeadSHA: w.head,
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations},
	})
	if statusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("51 annotations: got %v, want 422", err)
	}
	errs := rec.reported()
	if len(errs) != 1 || !strings.Contains(errs[0], "checks/create") {
		t.Fatalf("51 annotations: reported %q, want one checks/create violation", errs)
	}

	// A limit the description does not state: GitHub's 422 only, no report.
	_, _, err = gh.Repositories.CreateStatus(ctx, "acme", "frontend", w.head, &github.RepoStatus{
		State: github.String("success"), Context: github.String("auger/artifact"), Description: github.String(strings.Repeat("x", 141)),
	})
	if statusOf(err) != http.StatusUnprocessableEntity {
		t.Errorf("141-character description: got %v, want 422", err)
	}
	if errs := rec.reported(); len(errs) != 1 {
		t.Errorf("141-character description reported: %q", errs[1:])
	}
}

func TestSpecViolationsAreReported(t *testing.T) {
	rec := &recorder{TB: t}
	w := newWorld(t, rec)
	gh := w.client(t)
	ctx := context.Background()

	req, err := gh.NewRequest(http.MethodPost, "repos/acme/frontend/check-runs", map[string]any{
		"name": "x", "head_sha": w.head, "status": "bogus",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Do(ctx, req, nil); statusOf(err) != http.StatusUnprocessableEntity {
		t.Errorf("invalid status enum: got %v, want 422", err)
	}
	req, _ = gh.NewRequest(http.MethodGet, "repos/acme/frontend/branches", nil)
	if _, err := gh.Do(ctx, req, nil); statusOf(err) != http.StatusNotFound {
		t.Errorf("unvendored operation: got %v, want 404", err)
	}
	errs := rec.reported()
	if len(errs) != 2 || !strings.Contains(errs[0], "checks/create POST /repos/acme/frontend/check-runs") ||
		!strings.Contains(errs[0], "bogus") || !strings.Contains(errs[1], "unvendored GitHub operation GET /repos/acme/frontend/branches") {
		t.Errorf("reported %q", errs)
	}
	if n := len(w.repo.CheckRuns(w.head)); n != 0 {
		t.Errorf("an invalid request created %d check runs", n)
	}
}

func TestAuthentication(t *testing.T) {
	w := newWorld(t, t)
	ctx := context.Background()

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	app, err := clientCreator(t, w.fake, wrongKey).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Apps.Get(ctx, ""); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("JWT signed with another key: got %v, want 401", err)
	}
	bad, err := clientCreator(t, w.fake, wrongKey).NewInstallationClient(installationID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Repositories.Get(ctx, "acme", "frontend"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("token exchange with a JWT signed by another key: got %v, want a 401", err)
	}

	app, err = w.creator.NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := app.Apps.Get(ctx, "")
	if err != nil || me.GetSlug() != "auger" || me.GetID() != 1 {
		t.Errorf("GET /app: %v %+v", err, me)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, "acme", "frontend")
	if err != nil || inst.GetID() != installationID {
		t.Errorf("repository installation: %v %+v", err, inst)
	}

	w.fake.AddInstallation(8, "globex")
	w.fake.AddRepo("globex", "backend")
	if _, _, err := w.client(t).Repositories.Get(ctx, "globex", "backend"); statusOf(err) != http.StatusNotFound {
		t.Errorf("another installation's repository: got %v, want 404", err)
	}
	unauth := github.NewClient(nil)
	unauth.BaseURL = mustParse(t, w.fake.URL)
	if _, _, err := unauth.Repositories.Get(ctx, "acme", "frontend"); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("no credentials: got %v, want 401", err)
	}
	tr, err := ghinstallation.New(http.DefaultTransport, w.fake.AppID(), installationID, w.fake.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(w.fake.URL, "/")
	tok, err := tr.Token(ctx)
	if err != nil || w.fake.InstallationOfToken(tok) != installationID || w.fake.InstallationOfToken("ghs_unknown") != 0 {
		t.Errorf("token %q: %v, installation %d", tok, err, w.fake.InstallationOfToken(tok))
	}
	repo, _, err := w.client(t).Repositories.Get(ctx, "acme", "frontend")
	if err != nil || repo.GetDefaultBranch() != "main" || repo.GetID() != w.repo.ID {
		t.Errorf("GET repo: %v %+v", err, repo)
	}
}

func TestContents(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	file, _, _, err := gh.Repositories.GetContents(ctx, "acme", "frontend", ".auger/staging.yaml", &github.RepositoryContentGetOptions{Ref: w.head})
	if err != nil {
		t.Fatalf("get file: %v", err)
	}
	content, err := file.GetContent()
	if err != nil || content != "app: frontend\nenv: staging\n" || file.GetType() != "file" || file.GetSize() != len(content) {
		t.Errorf("file: %q, %v, %+v", content, err, file)
	}
	_, dir, _, err := gh.Repositories.GetContents(ctx, "acme", "frontend", ".auger", nil)
	if err != nil {
		t.Fatalf("get dir: %v", err)
	}
	var names []string
	for _, e := range dir {
		names = append(names, e.GetType()+":"+e.GetPath())
	}
	if got := strings.Join(names, " "); got != "dir:.auger/charts file:.auger/prod.yaml file:.auger/staging.yaml" {
		t.Errorf("dir entries: %s", got)
	}
	if _, root, _, err := gh.Repositories.GetContents(ctx, "acme", "frontend", "", nil); err != nil || len(root) != 2 {
		t.Errorf("root listing: %v, %d entries", err, len(root))
	}
	if _, _, _, err := gh.Repositories.GetContents(ctx, "acme", "frontend", ".auger", &github.RepositoryContentGetOptions{Ref: w.first}); statusOf(err) != http.StatusNotFound {
		t.Errorf("dir missing at the first commit: got %v, want 404", err)
	}
	rc, _, err := gh.Repositories.DownloadContents(ctx, "acme", "frontend", ".auger/prod.yaml", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "app: frontend\nenv: production\n" {
		t.Errorf("downloaded %q", data)
	}

	commit, _, err := gh.Repositories.GetCommit(ctx, "acme", "frontend", w.head, nil)
	if err != nil || commit.GetCommit().GetMessage() != "add env config" || len(commit.Files) != 3 || commit.GetAuthor().GetLogin() != "jane" {
		t.Errorf("commit: %v %+v", err, commit)
	}
	ref, _, err := gh.Git.GetRef(ctx, "acme", "frontend", "heads/main")
	if err != nil || ref.GetObject().GetSHA() != w.head {
		t.Errorf("ref: %v %+v", err, ref)
	}
	if _, _, err := gh.Git.GetRef(ctx, "acme", "frontend", "heads/nope"); statusOf(err) != http.StatusNotFound {
		t.Errorf("missing ref: got %v, want 404", err)
	}
}

func TestStatusesAndPaging(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	for i := 0; i < 35; i++ {
		_, _, err := gh.Repositories.CreateStatus(ctx, "acme", "frontend", w.head, &github.RepoStatus{
			State: github.String("success"), Context: github.String(fmt.Sprintf("ctx-%d", i)), TargetURL: github.String("https://ci.example.com/1"),
		})
		if err != nil {
			t.Fatalf("create status: %v", err)
		}
	}
	page1, res, err := gh.Repositories.ListStatuses(ctx, "acme", "frontend", "main", nil)
	if err != nil || len(page1) != 30 || res.NextPage != 2 || page1[0].GetContext() != "ctx-34" {
		t.Fatalf("page 1: %v, %d statuses, next %d", err, len(page1), res.NextPage)
	}
	page2, res, err := gh.Repositories.ListStatuses(ctx, "acme", "frontend", "main", &github.ListOptions{Page: 2})
	if err != nil || len(page2) != 5 || res.NextPage != 0 {
		t.Fatalf("page 2: %v, %d statuses, next %d", err, len(page2), res.NextPage)
	}
	if got := w.repo.Statuses(w.head); len(got) != 35 || got[0].Creator != "auger[bot]" {
		t.Errorf("Statuses: %d, first %+v", len(got), got[0])
	}
}

func TestPullRequestsCommentsDeployments(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	feature := w.repo.AddCommit(githubfake.Commit{Branch: "feature", Parents: []string{w.head}, Message: "feature",
		Files: map[string]string{"README.md": "hello feature\n"}})
	number := w.repo.AddPullRequest(githubfake.PullRequest{HeadRef: "feature", User: "jane"})
	w.repo.AddReview(number, githubfake.Review{User: "joe"})
	w.repo.SetPermission("jane", "maintain")
	w.fake.AddTeamMember("acme", "releasers", "jane", "member")
	commentID := w.repo.AddComment(number, "jane", "/deploy staging")

	if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "frontend", commentID, "eyes"); err != nil {
		t.Errorf("reaction: %v", err)
	}
	if _, res, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "frontend", commentID, "eyes"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("repeated reaction: %v", err)
	}
	if got := w.repo.Reactions(commentID); len(got) != 1 || got[0] != "eyes" {
		t.Errorf("Reactions: %q", got)
	}
	if c, _, err := gh.Issues.GetComment(ctx, "acme", "frontend", commentID); err != nil || c.GetBody() != "/deploy staging" || c.GetUser().GetLogin() != "jane" {
		t.Errorf("get comment: %v %+v", err, c)
	}
	reply, _, err := gh.Issues.CreateComment(ctx, "acme", "frontend", number, &github.IssueComment{Body: github.String("Deploying…")})
	if err != nil {
		t.Fatalf("create comment: %v", err)
	}
	if _, _, err := gh.Issues.EditComment(ctx, "acme", "frontend", reply.GetID(), &github.IssueComment{Body: github.String("Deployed")}); err != nil {
		t.Errorf("edit comment: %v", err)
	}
	comments, _, err := gh.Issues.ListComments(ctx, "acme", "frontend", number, nil)
	if err != nil || len(comments) != 2 || comments[1].GetBody() != "Deployed" || comments[1].GetUser().GetType() != "Bot" {
		t.Errorf("list comments: %v %+v", err, comments)
	}
	if got := w.repo.Comments(number); len(got) != 2 || got[1].User != "auger[bot]" {
		t.Errorf("Comments: %+v", got)
	}

	fork := w.repo.AddPullRequest(githubfake.PullRequest{HeadRef: "patch-1", HeadSHA: feature, User: "mallory", Fork: true})
	if pr, _, err := gh.PullRequests.Get(ctx, "acme", "frontend", fork); err != nil || !pr.GetHead().GetRepo().GetFork() || pr.GetHead().GetRepo().GetFullName() != "mallory/frontend" {
		t.Errorf("fork pull: %v %+v", err, pr.GetHead())
	}
	pr, _, err := gh.PullRequests.Get(ctx, "acme", "frontend", number)
	if err != nil || pr.GetHead().GetSHA() != feature || pr.GetBase().GetRef() != "main" || pr.GetHead().GetRepo().GetFork() {
		t.Errorf("get pull: %v %+v", err, pr)
	}
	// The fork pull request is not listed for its head, as on GitHub.
	prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "frontend", feature, nil)
	if err != nil || len(prs) != 1 || prs[0].GetNumber() != number {
		t.Errorf("pulls of commit: %v %+v", err, prs)
	}
	reviews, _, err := gh.PullRequests.ListReviews(ctx, "acme", "frontend", number, nil)
	if err != nil || len(reviews) != 1 || reviews[0].GetState() != "APPROVED" {
		t.Errorf("reviews: %v %+v", err, reviews)
	}
	perm, _, err := gh.Repositories.GetPermissionLevel(ctx, "acme", "frontend", "jane")
	if err != nil || perm.GetPermission() != "write" || perm.GetUser().GetRoleName() != "maintain" {
		t.Errorf("permission: %v %+v", err, perm)
	}
	if m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "releasers", "jane"); err != nil || m.GetState() != "active" {
		t.Errorf("team membership: %v %+v", err, m)
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "releasers", "joe"); statusOf(err) != http.StatusNotFound {
		t.Errorf("non-member: got %v, want 404", err)
	}

	// A gitops pull request Auger opens and merges itself.
	w.repo.AddCommit(githubfake.Commit{Branch: "auger/release", Parents: []string{w.head}, Message: "release",
		Files: map[string]string{"README.md": "hello\n", "staging/frontend/release.json": "{}"}})
	gitops, _, err := gh.PullRequests.Create(ctx, "acme", "frontend", &github.NewPullRequest{
		Title: github.String("Release frontend to staging"), Head: github.String("auger/release"), Base: github.String("main"),
	})
	if err != nil {
		t.Fatalf("create pull: %v", err)
	}
	open, _, err := gh.PullRequests.List(ctx, "acme", "frontend", &github.PullRequestListOptions{Head: "acme:auger/release"})
	if err != nil || len(open) != 1 {
		t.Errorf("list pulls by head: %v %d", err, len(open))
	}
	merged, _, err := gh.PullRequests.Merge(ctx, "acme", "frontend", gitops.GetNumber(), "", &github.PullRequestOptions{SHA: gitops.GetHead().GetSHA()})
	if err != nil || !merged.GetMerged() {
		t.Fatalf("merge: %v %+v", err, merged)
	}
	if files := w.repo.Files("main"); files["staging/frontend/release.json"] != "{}" || w.repo.Head("main") != merged.GetSHA() {
		t.Errorf("main after merge: %v", files)
	}

	// Deployments: GitHub refuses while a check is failing unless required_contexts is given.
	w.repo.AddCheckRun(w.head, githubfake.CheckRun{Name: "lint", Conclusion: "failure"})
	if _, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "frontend", &github.DeploymentRequest{Ref: github.String(w.head), Environment: github.String("staging")}); statusOf(err) != http.StatusConflict {
		t.Errorf("deployment with a failing check: got %v, want 409", err)
	}
	d, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "frontend", &github.DeploymentRequest{
		Ref: github.String(w.head), Environment: github.String("staging"), RequiredContexts: &[]string{}, AutoMerge: github.Bool(false),
		Payload: map[string]any{"artifact": "acme/frontend-123"},
	})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	for _, state := range []string{"in_progress", "success"} {
		if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "frontend", d.GetID(), &github.DeploymentStatusRequest{
			State: github.String(state), LogURL: github.String("https://github.com/acme/frontend/runs/1"), Description: github.String(state),
		}); err != nil {
			t.Fatalf("deployment status %s: %v", state, err)
		}
	}
	list, _, err := gh.Repositories.ListDeployments(ctx, "acme", "frontend", &github.DeploymentsListOptions{Environment: "staging"})
	if err != nil || len(list) != 1 {
		t.Errorf("list deployments: %v %d", err, len(list))
	}
	if got := w.repo.Deployments(); len(got) != 1 || len(got[0].Statuses) != 2 || got[0].Statuses[1].State != "success" {
		t.Errorf("Deployments: %+v", got)
	}
}

func TestMiddleware(t *testing.T) {
	w := newWorld(t, t)
	w.fake.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/statuses") {
				http.Error(rw, "upstream failure", http.StatusBadGateway)
				return
			}
			next.ServeHTTP(rw, r)
		})
	})
	gh := w.client(t)
	if _, _, err := gh.Repositories.ListStatuses(context.Background(), "acme", "frontend", w.head, nil); statusOf(err) != http.StatusBadGateway {
		t.Errorf("injected fault: got %v, want 502", err)
	}
	reqs := w.fake.Requests()
	last := reqs[len(reqs)-1]
	if last.OperationID != "repos/list-commit-statuses-for-ref" || last.Status != http.StatusBadGateway {
		t.Errorf("recorded %+v", last)
	}
}

func TestWebhooks(t *testing.T) {
	w := newWorld(t, t)
	const secret = "hook-secret"
	type got struct {
		event, delivery string
		payload         any
	}
	received := make(chan got, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := github.ValidatePayload(r, []byte(secret))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "GitHub-Hookshot/") || r.Header.Get("X-GitHub-Hook-Installation-Target-ID") != "1" {
			http.Error(rw, "not like GitHub", http.StatusBadRequest)
			return
		}
		event, err := github.ParseWebHook(github.WebHookType(r), body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		received <- got{github.WebHookType(r), github.DeliveryID(r), event}
		rw.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(hook.Close)

	p := githubfake.Payload(t, "check_run", "requested_action")
	w.repo.Retarget(p, w.head)
	res := w.fake.Deliver(t, hook.URL, secret, "check_run", "d-1", p)
	if res.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("delivery answered %d: %s", res.StatusCode, body)
	}
	ev := (<-received).payload.(*github.CheckRunEvent)
	if ev.GetCheckRun().GetHeadSHA() != w.head || ev.GetRepo().GetFullName() != "acme/frontend" ||
		ev.GetInstallation().GetID() != installationID || ev.GetRequestedAction().Identifier == "" {
		t.Errorf("check_run event: %+v", ev)
	}

	app, err := w.creator.NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deliveries, _, err := app.Apps.ListHookDeliveries(ctx, nil)
	if err != nil || len(deliveries) != 1 || deliveries[0].GetGUID() != "d-1" || deliveries[0].GetRepositoryID() != w.repo.ID {
		t.Fatalf("deliveries: %v %+v", err, deliveries)
	}
	// GitHub answers 202, which go-github reports as an *AcceptedError.
	var accepted *github.AcceptedError
	if _, _, err := app.Apps.RedeliverHookDelivery(ctx, deliveries[0].GetID()); !errors.As(err, &accepted) {
		t.Fatalf("redeliver: got %v, want 202 Accepted", err)
	}
	if again := <-received; again.delivery != "d-1" || again.event != "check_run" {
		t.Errorf("redelivered %+v", again)
	}
	if deliveries, _, _ = app.Apps.ListHookDeliveries(ctx, nil); len(deliveries) != 2 || !deliveries[0].GetRedelivery() {
		t.Errorf("deliveries after redelivery: %+v", deliveries)
	}
}

func TestPayloads(t *testing.T) {
	f := githubfake.New(t)
	f.AddInstallation(installationID, "acme")
	repo := f.AddRepo("acme", "frontend")
	tests := []struct {
		event, action string
		check         func(t *testing.T, ev any)
	}{
		{"check_run", "completed", nil},
		{"check_run", "requested_action", nil},
		{"check_suite", "completed", nil},
		{"push", "", func(t *testing.T, ev any) {
			if p := ev.(*github.PushEvent); p.GetRef() != "refs/heads/master" || p.GetAfter() != "abc" || p.GetDeleted() {
				t.Errorf("branch push: %s %s", p.GetRef(), p.GetAfter())
			}
		}},
		{"push", "tag", func(t *testing.T, ev any) {
			if p := ev.(*github.PushEvent); !strings.HasPrefix(p.GetRef(), "refs/tags/") {
				t.Errorf("tag push: %s", p.GetRef())
			}
		}},
		{"push", "deleted", func(t *testing.T, ev any) {
			if p := ev.(*github.PushEvent); p.GetRef() != "refs/heads/feature" || !p.GetDeleted() || strings.Trim(p.GetAfter(), "0") != "" {
				t.Errorf("branch deletion: %s deleted=%v after=%s", p.GetRef(), p.GetDeleted(), p.GetAfter())
			}
		}},
		{"delete", "", func(t *testing.T, ev any) {
			if d := ev.(*github.DeleteEvent); d.GetRefType() != "branch" || d.GetRef() != "feature" {
				t.Errorf("delete: %s %s", d.GetRefType(), d.GetRef())
			}
		}},
		{"issue_comment", "created", func(t *testing.T, ev any) {
			if c := ev.(*github.IssueCommentEvent); c.GetComment().GetBody() == "" || c.GetInstallation().GetID() != installationID {
				t.Errorf("issue_comment: %+v", c)
			}
		}},
		{"issue_comment", "edited", nil},
		{"pull_request", "opened", nil},
		{"pull_request", "synchronize", func(t *testing.T, ev any) {
			if p := ev.(*github.PullRequestEvent); p.GetPullRequest().GetHead().GetSHA() != "abc" || p.GetPullRequest().GetBase().GetRepo().GetFullName() != "acme/frontend" {
				t.Errorf("synchronize: %+v", p.GetPullRequest().GetHead())
			}
		}},
		{"pull_request", "closed", nil},
		{"installation", "created", func(t *testing.T, ev any) {
			if i := ev.(*github.InstallationEvent); i.GetInstallation().GetAppSlug() != "auger" || i.GetInstallation().GetCreatedAt().IsZero() {
				t.Errorf("installation: %+v", i.GetInstallation())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.event+"."+tc.action, func(t *testing.T) {
			p := githubfake.Payload(t, tc.event, tc.action)
			repo.Retarget(p, "abc")
			p["mutated"] = true
			if _, ok := githubfake.Payload(t, tc.event, tc.action)["mutated"]; ok {
				t.Fatal("Payload returned shared state")
			}
			body, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := github.ParseWebHook(tc.event, body)
			if err != nil {
				t.Fatalf("go-github cannot parse it: %v", err)
			}
			var meta struct {
				Repository   struct{ ID int64 }
				Installation struct{ ID int64 }
			}
			if err := json.Unmarshal(body, &meta); err != nil || meta.Repository.ID != repo.ID || meta.Installation.ID != installationID {
				t.Errorf("retargeted to repo %d installation %d", meta.Repository.ID, meta.Installation.ID)
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
		})
	}
}

func TestRetargetToFakeObjects(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()
	w.repo.AddCommit(githubfake.Commit{Branch: "feature", Parents: []string{w.head}, Message: "feature"})
	number := w.repo.AddPullRequest(githubfake.PullRequest{HeadRef: "feature", User: "jane", Title: "New feature"})
	commentID := w.repo.AddComment(number, "jane", "/deploy staging")

	p := githubfake.Payload(t, "issue_comment", "created")
	w.repo.RetargetComment(p, commentID)
	ic := parse(t, "issue_comment", p).(*github.IssueCommentEvent)
	if !ic.GetIssue().IsPullRequest() || ic.GetIssue().GetNumber() != number || ic.GetComment().GetID() != commentID ||
		ic.GetComment().GetBody() != "/deploy staging" || ic.GetComment().GetUser().GetLogin() != "jane" || ic.GetRepo().GetFullName() != "acme/frontend" {
		t.Errorf("issue_comment: issue %+v comment %+v", ic.GetIssue(), ic.GetComment())
	}

	p = githubfake.Payload(t, "pull_request", "closed")
	w.repo.RetargetPull(p, number)
	pe := parse(t, "pull_request", p).(*github.PullRequestEvent)
	if pe.GetNumber() != number || pe.GetPullRequest().GetHead().GetRef() != "feature" || pe.GetPullRequest().GetTitle() != "New feature" {
		t.Errorf("pull_request: %d %+v", pe.GetNumber(), pe.GetPullRequest().GetHead())
	}

	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "frontend", github.CreateCheckRunOptions{
		Name: "Auger: artifact", HeadSHA: w.head, ExternalID: github.String("acme/frontend-1"), Conclusion: github.String("success"),
		Actions: []*github.CheckRunAction{{Label: "Deploy to staging", Description: "Release to staging", Identifier: "deploy:staging"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p = githubfake.Payload(t, "check_run", "requested_action")
	w.repo.RetargetCheckRun(p, cr.GetID())
	p["requested_action"] = map[string]any{"identifier": "deploy:staging"}
	ce := parse(t, "check_run", p).(*github.CheckRunEvent)
	if ce.GetCheckRun().GetID() != cr.GetID() || ce.GetCheckRun().GetApp().GetID() != w.fake.AppID() || ce.GetCheckRun().GetExternalID() != "acme/frontend-1" ||
		ce.GetCheckRun().GetHeadSHA() != w.head || ce.GetCheckRun().GetCheckSuite().GetHeadSHA() != w.head || ce.GetInstallation().GetID() != installationID {
		t.Errorf("check_run: %+v", ce.GetCheckRun())
	}
}

func parse(t *testing.T, event string, p map[string]any) any {
	t.Helper()
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := github.ParseWebHook(event, body)
	if err != nil {
		t.Fatalf("parse %s: %v", event, err)
	}
	return ev
}

func TestSign(t *testing.T) {
	// The example from GitHub's "Validating webhook deliveries" documentation.
	got := githubfake.Sign([]byte("Hello, World!"), "It's a Secret to Everybody")
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestCompareCommits(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	// feature: two commits on top of main's head, on a branch with a slash.
	tree := w.repo.Files(w.head)
	tree["README.md"], tree["new.txt"] = "hello\nfeature\n", "new\n"
	f1 := w.repo.AddCommit(githubfake.Commit{Branch: "topic/x", Parents: []string{w.head}, Message: "f1", Files: tree})
	f2 := w.repo.AddCommit(githubfake.Commit{Branch: "topic/x", Message: "f2"})
	w.repo.AddTag("v1", w.first)

	compare := func(base, head string, opts *github.ListOptions) *github.CommitsComparison {
		t.Helper()
		cmp, _, err := gh.Repositories.CompareCommits(ctx, "acme", "frontend", base, head, opts)
		if err != nil {
			t.Fatalf("compare %s...%s: %v", base, head, err)
		}
		return cmp
	}
	shas := func(cs []*github.RepositoryCommit) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.GetSHA())
		}
		return out
	}

	if c := compare("main", w.head, nil); c.GetStatus() != "identical" || c.GetAheadBy() != 0 || c.GetBehindBy() != 0 ||
		c.GetTotalCommits() != 0 || len(c.Commits) != 0 || c.GetMergeBaseCommit().GetSHA() != w.head {
		t.Errorf("main...head: %s ahead %d behind %d", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy())
	}
	if c := compare("main", "v1", nil); c.GetStatus() != "behind" || c.GetBehindBy() != 1 || c.GetAheadBy() != 0 ||
		c.GetMergeBaseCommit().GetSHA() != w.first || c.GetBaseCommit().GetSHA() != w.head {
		t.Errorf("main...v1: %s ahead %d behind %d", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy())
	}
	c := compare("main", "topic/x", nil)
	if c.GetStatus() != "ahead" || c.GetAheadBy() != 2 || c.GetBehindBy() != 0 || c.GetTotalCommits() != 2 ||
		strings.Join(shas(c.Commits), ",") != f1+","+f2 || c.GetMergeBaseCommit().GetSHA() != w.head {
		t.Errorf("main...topic/x: %s ahead %d behind %d commits %v", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy(), shas(c.Commits))
	}
	if len(c.Files) != 2 || c.Files[0].GetFilename() != "README.md" || c.Files[1].GetStatus() != "added" {
		t.Errorf("main...topic/x files: %+v", c.Files)
	}
	if !strings.HasSuffix(c.GetURL(), "/compare/main...topic%2Fx") {
		t.Errorf("url %s", c.GetURL())
	}
	// Paging: oldest first, one per page, files on page 1 only.
	if p := compare("main", "topic/x", &github.ListOptions{PerPage: 1, Page: 2}); strings.Join(shas(p.Commits), ",") != f2 || len(p.Files) != 0 || p.GetAheadBy() != 2 {
		t.Errorf("page 2: %v, %d files", shas(p.Commits), len(p.Files))
	}

	m := w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "main moves on"})
	if c := compare("main", "topic/x", nil); c.GetStatus() != "diverged" || c.GetAheadBy() != 2 || c.GetBehindBy() != 1 || c.GetMergeBaseCommit().GetSHA() != w.head {
		t.Errorf("diverged: %s ahead %d behind %d", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy())
	}
	if c := compare(f2, "main", &github.ListOptions{PerPage: 1}); c.GetStatus() != "diverged" || c.GetAheadBy() != 1 || shas(c.Commits)[0] != m {
		t.Errorf("the other way: %s ahead %d %v", c.GetStatus(), c.GetAheadBy(), shas(c.Commits))
	}

	// Unknown sides and unrelated histories: GitHub's 404s.
	for _, pair := range [][2]string{{"main", "nope"}, {"nope", "main"}, {"main", strings.Repeat("ab", 20)}} {
		if _, _, err := gh.Repositories.CompareCommits(ctx, "acme", "frontend", pair[0], pair[1], nil); statusOf(err) != http.StatusNotFound {
			t.Errorf("compare %s...%s: got %v, want 404", pair[0], pair[1], err)
		}
	}
	orphan := w.repo.AddCommit(githubfake.Commit{Message: "orphan", Files: map[string]string{"x": "y"}})
	if _, _, err := gh.Repositories.CompareCommits(ctx, "acme", "frontend", "main", orphan, nil); statusOf(err) != http.StatusNotFound ||
		!strings.Contains(err.Error(), "No common ancestor") {
		t.Errorf("unrelated histories: got %v, want 404 No common ancestor", err)
	}

	// A fork pull request's head is on no branch, yet the base repository compares it.
	forkSHA := w.repo.AddCommit(githubfake.Commit{Parents: []string{m}, Message: "from a fork"})
	w.repo.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: forkSHA, HeadRef: "patch-1", User: "mallory"})
	if c := compare("main", forkSHA, &github.ListOptions{PerPage: 1}); c.GetStatus() != "ahead" || c.GetAheadBy() != 1 {
		t.Errorf("main...fork head: %s ahead %d", c.GetStatus(), c.GetAheadBy())
	}
	w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "main moves again"})
	if c := compare("main", forkSHA, nil); c.GetStatus() != "diverged" {
		t.Errorf("main...fork head after main moved: %s", c.GetStatus())
	}
	if c := compare("topic/x", f1, nil); c.GetStatus() != "behind" {
		t.Errorf("topic/x...f1 (topic/x contains f1): %s", c.GetStatus())
	}
}

func TestForkPullRequests(t *testing.T) {
	w := newWorld(t, t)
	gh := w.client(t)
	ctx := context.Background()

	forkSHA := w.repo.AddCommit(githubfake.Commit{Parents: []string{w.head}, Message: "from a fork", Files: map[string]string{"evil": "yes"}})
	fork := w.repo.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: forkSHA, HeadRef: "patch-1", User: "mallory"})
	feature := w.repo.AddCommit(githubfake.Commit{Branch: "feature", Parents: []string{w.head}, Message: "feature"})
	own := w.repo.AddPullRequest(githubfake.PullRequest{HeadRef: "feature", User: "jane"})

	if prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "frontend", forkSHA, nil); err != nil || len(prs) != 0 {
		t.Errorf("pulls of the fork head: %v %+v", err, prs)
	}
	if prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "frontend", feature, nil); err != nil || len(prs) != 1 || prs[0].GetNumber() != own {
		t.Errorf("pulls of feature: %v %+v", err, prs)
	}
	list, _, err := gh.PullRequests.List(ctx, "acme", "frontend", &github.PullRequestListOptions{State: "open"})
	if err != nil || len(list) != 2 || list[0].GetNumber() != own || list[1].GetNumber() != fork {
		t.Fatalf("open pulls: %v %d", err, len(list))
	}
	for _, pr := range []*github.PullRequest{list[1], must(gh.PullRequests.Get(ctx, "acme", "frontend", fork))} {
		head, base := pr.GetHead().GetRepo(), pr.GetBase().GetRepo()
		if head.GetFullName() != "mallory/frontend" || !head.GetFork() || base.GetFullName() != "acme/frontend" || head.GetID() == base.GetID() ||
			pr.GetHead().GetSHA() != forkSHA || pr.GetHead().GetLabel() != "mallory:patch-1" {
			t.Errorf("fork pull #%d: head %s (fork %v), base %s", pr.GetNumber(), head.GetFullName(), head.GetFork(), base.GetFullName())
		}
	}

	// Check runs on the fork head carry no pull request.
	w.repo.AddCheckRun(forkSHA, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.repo.AddCheckRun(feature, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	if runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "frontend", forkSHA, nil); err != nil || runs.GetTotal() != 1 || len(runs.CheckRuns[0].PullRequests) != 0 {
		t.Errorf("runs of the fork head: %v %+v", err, runs)
	}
	if runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "frontend", feature, nil); err != nil || runs.GetTotal() != 1 ||
		len(runs.CheckRuns[0].PullRequests) != 1 || runs.CheckRuns[0].PullRequests[0].GetNumber() != own {
		t.Errorf("runs of feature: %v %+v", err, runs)
	}

	// Webhooks about the fork head: no pull request, no branch.
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, forkSHA)
	if suite := p["check_suite"].(map[string]any); suite["head_branch"] != nil || !hasKey(suite, "head_branch") {
		t.Errorf("fork head suite head_branch = %v", suite["head_branch"])
	}
	se := parse(t, "check_suite", p).(*github.CheckSuiteEvent)
	if se.GetCheckSuite().HeadBranch != nil || se.GetCheckSuite().PullRequests == nil || len(se.GetCheckSuite().PullRequests) != 0 ||
		se.GetCheckSuite().GetHeadSHA() != forkSHA {
		t.Errorf("fork head suite: branch %v, pulls %+v", se.GetCheckSuite().HeadBranch, se.GetCheckSuite().PullRequests)
	}
	p = githubfake.Payload(t, "check_run", "completed")
	w.repo.Retarget(p, forkSHA)
	re := parse(t, "check_run", p).(*github.CheckRunEvent)
	if run := re.GetCheckRun(); len(run.PullRequests) != 0 || run.GetCheckSuite().HeadBranch != nil || len(run.GetCheckSuite().PullRequests) != 0 {
		t.Errorf("fork head run: pulls %+v, suite branch %v", run.PullRequests, run.GetCheckSuite().HeadBranch)
	}

	// Webhooks about a branch head of this repository: its branch and pull request.
	p = githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, feature)
	se = parse(t, "check_suite", p).(*github.CheckSuiteEvent)
	if s := se.GetCheckSuite(); s.GetHeadBranch() != "feature" || len(s.PullRequests) != 1 || s.PullRequests[0].GetNumber() != own ||
		s.PullRequests[0].GetHead().GetSHA() != feature || s.PullRequests[0].GetHead().GetRepo().GetID() != w.repo.ID ||
		s.PullRequests[0].GetBase().GetRef() != "main" {
		t.Errorf("feature suite: branch %q, pulls %+v", s.GetHeadBranch(), s.PullRequests)
	}
	p = githubfake.Payload(t, "check_run", "completed")
	w.repo.Retarget(p, feature)
	re = parse(t, "check_run", p).(*github.CheckRunEvent)
	if run := re.GetCheckRun(); len(run.PullRequests) != 1 || run.PullRequests[0].GetNumber() != own || run.GetCheckSuite().GetHeadBranch() != "feature" ||
		len(run.GetCheckSuite().PullRequests) != 1 {
		t.Errorf("feature run: pulls %+v, suite branch %q", run.PullRequests, run.GetCheckSuite().GetHeadBranch())
	}
	// The default branch is preferred when several branches point at the commit.
	w.repo.SetBranch("a-copy", w.head)
	p = githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, w.head)
	if se := parse(t, "check_suite", p).(*github.CheckSuiteEvent); se.GetCheckSuite().GetHeadBranch() != "main" || len(se.GetCheckSuite().PullRequests) != 0 {
		t.Errorf("main suite: branch %q", se.GetCheckSuite().GetHeadBranch())
	}
	// A caller may still say otherwise after Retarget.
	p["check_suite"].(map[string]any)["head_branch"] = "other"
	if se := parse(t, "check_suite", p).(*github.CheckSuiteEvent); se.GetCheckSuite().GetHeadBranch() != "other" {
		t.Errorf("overwritten head_branch: %q", se.GetCheckSuite().GetHeadBranch())
	}

	// Once merged, a fork pull request is listed for its merge commit.
	merge := w.repo.AddCommit(githubfake.Commit{Branch: "main", Parents: []string{w.head, forkSHA}, Message: "Merge pull request from mallory/patch-1"})
	merged := w.repo.AddPullRequest(githubfake.PullRequest{Fork: true, HeadSHA: forkSHA, HeadRef: "patch-1", User: "mallory",
		Merged: true, MergeCommitSHA: merge, MergedBy: "jane"})
	if prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "frontend", merge, nil); err != nil || len(prs) != 1 || prs[0].GetNumber() != merged {
		t.Errorf("pulls of the merge commit: %v %+v", err, prs)
	}
}

func must[T any](v T, _ *github.Response, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// A workflow's GITHUB_TOKEN reaches its own repository only and acts as the github-actions
// App: its check runs are not Auger's, and Auger's are not its to change.
func TestWorkflowToken(t *testing.T) {
	w := newWorld(t, t)
	other := w.fake.AddRepo("acme", "backend")
	other.AddCommit(githubfake.Commit{Branch: "main", Message: "init", Files: map[string]string{"a": "b"}})
	ctx := context.Background()
	token := w.fake.WorkflowToken("acme", "frontend")
	gh := github.NewClient(&http.Client{Transport: tokenTransport(token)})
	gh.BaseURL = mustParse(t, w.fake.URL)
	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "frontend", github.CreateCheckRunOptions{Name: "Auger: artifact upload", HeadSHA: w.head,
		Status: github.String("completed"), Conclusion: github.String("neutral")})
	if err != nil {
		t.Fatalf("create check run with a workflow token: %v", err)
	}
	if cr.GetApp().GetSlug() != "github-actions" || w.repo.CheckRuns(w.head)[0].AppSlug != "github-actions" {
		t.Errorf("the workflow's run belongs to %q", cr.GetApp().GetSlug())
	}
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "frontend", cr.GetID(), github.UpdateCheckRunOptions{Name: "renamed"}); err != nil {
		t.Errorf("the workflow updating its own run: %v", err)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "backend"); statusOf(err) != http.StatusNotFound {
		t.Errorf("the workflow token reading another repository: %v, want 404", err)
	}
	// Auger's run is not the workflow's to change, nor the workflow's Auger's.
	augerRun, _, err := w.client(t).Checks.CreateCheckRun(ctx, "acme", "frontend", github.CreateCheckRunOptions{Name: "Auger: artifact", HeadSHA: w.head})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "frontend", augerRun.GetID(), github.UpdateCheckRunOptions{Name: "x"}); statusOf(err) != http.StatusForbidden {
		t.Errorf("the workflow updating Auger's run: %v, want 403", err)
	}
	if _, _, err := w.client(t).Checks.UpdateCheckRun(ctx, "acme", "frontend", cr.GetID(), github.UpdateCheckRunOptions{Name: "x"}); statusOf(err) != http.StatusForbidden {
		t.Errorf("Auger updating the workflow's run: %v, want 403", err)
	}
}

// tokenTransport authenticates every request with a token, as CI's tools do.
type tokenTransport string

func (tok tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "token "+string(tok))
	return http.DefaultTransport.RoundTrip(r)
}
