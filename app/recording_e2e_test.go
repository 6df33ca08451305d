package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/githubfake"
)

// tagSuiteCompleted is check_suite.completed for the suite of a tag push, as GitHub sends
// it: the suite's head ref is the tag, so head_branch is the tag's name, and no pull
// request matches it. The event carries the head commit's details.
func (w *world) tagSuiteCompleted(t testing.TB, hook, sha, tag string) {
	t.Helper()
	p := githubfake.Payload(t, "check_suite", "completed")
	w.repo.Retarget(p, sha)
	suite := p["check_suite"].(map[string]any)
	suite["head_branch"] = tag
	suite["pull_requests"] = []any{}
	person := map[string]any{"name": "Jane Doe", "email": "jane@example.com"}
	suite["head_commit"] = map[string]any{"id": sha, "tree_id": sha, "message": "Release " + tag,
		"timestamp": "2026-11-21T10:00:00Z", "author": person, "committer": person}
	if resp := w.fake.Deliver(t, hook, testSecret, "check_suite", "", p); resp.StatusCode != http.StatusOK {
		t.Fatalf("check_suite answered %d", resp.StatusCode)
	}
}

// A tag's deploy policy releases it whichever replica saw the tag's push: the replica
// that records the artifact learns that head_branch names a tag from GitHub, not from a
// push it remembered. Here the push goes to one replica and the suite's completion to
// another, which never saw the push (as after a restart).
func TestTagPolicyReleasesWhicheverReplicaSawThePush(t *testing.T) {
	w := newReleaseWorld(t, defaultEnvironments)
	second := newReplica(t, w, defaultEnvironments)
	config := strings.Replace(w.envConfig("frontend", "staging", false), "values:", "deploy: {tag: \"v*\"}\nvalues:", 1)
	sha := w.repo.AddCommit(githubfake.Commit{Branch: "main", Message: "Release v1.2.0", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
		Files: map[string]string{".auger/staging.yaml": config}})
	w.repo.AddAnnotatedTag("v1.2.0", sha, "Release v1.2.0")
	w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})

	push := githubfake.Payload(t, "push", "")
	w.repo.Retarget(push, sha)
	push["ref"], push["base_ref"], push["created"] = "refs/tags/v1.2.0", nil, true
	if resp := w.fake.Deliver(t, w.hook, testSecret, "push", "", push); resp.StatusCode != http.StatusOK {
		t.Fatalf("push answered %d", resp.StatusCode)
	}
	w.tagSuiteCompleted(t, second, sha, "v1.2.0")

	a := artifactOf(t, w.waitForArtifact(t, sha))
	if a.Version.Event != artifact.EventTag || a.Version.Tag != "v1.2.0" || a.Version.Branch != "" {
		t.Fatalf("artifact version = %+v", a.Version)
	}
	waitFor(t, func() bool { return w.gitops(t, "ls-tree", "--name-only", "main", "staging/") == "staging/frontend" })
	if msg := w.gitops(t, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "Auger-Sha: "+sha) || !strings.Contains(msg, "Auger-Triggered-By: policy") {
		t.Errorf("release commit:\n%s", msg)
	}

	// The same completion reaching the first replica finds the artifact: no second release.
	w.tagSuiteCompleted(t, w.hook, sha, "v1.2.0")
	time.Sleep(300 * time.Millisecond)
	if n := w.gitops(t, "rev-list", "--count", "main"); n != "1" {
		t.Errorf("gitops commits = %s, want 1", n)
	}
}

// What one artifact recording costs in GitHub requests, by the event that brings it and
// the ref it names (one env config file, no deploy policy, so nothing but the recording
// is counted), at most 4. The base is the commit's check runs (CI state and "already
// recorded" in one list), the .auger/ listing and the check run; a file is read only when
// its content (its blob sha) was not read before, and no commit status repeats the check
// run. A check_run event carries no commit details: one read. A suite named after
// something other than the default branch or a pull request's head may be a tag's: one
// repos/get-commit of refs/tags/<name>, which peels an annotated tag and tells the
// commit's details too.
func TestRecordingRequestBudget(t *testing.T) {
	w := newWorld(t)
	files := map[string]string{".auger/production.yaml": productionConfig}
	// The server has read this env config before (another commit of the repository).
	warm := w.commit(t, files)
	w.repo.AddCheckRun(warm, githubfake.CheckRun{Name: "build", Conclusion: "success"})
	w.suiteCompleted(t, warm, "")
	w.waitForArtifact(t, warm)
	base := map[string]int{"checks/list-for-ref": 1, "repos/get-content": 1, "checks/create": 1}
	plus := func(extra map[string]int) map[string]int {
		out := map[string]int{}
		for op, n := range base {
			out[op] = n
		}
		for op, n := range extra {
			out[op] += n
		}
		return out
	}
	tests := []struct {
		name   string
		record func(t *testing.T) string // makes a commit with green CI, delivers its event and returns it
		event  artifact.Event
		ref    string
		want   map[string]int
	}{{
		name: "check_suite on the default branch",
		record: func(t *testing.T) string {
			sha := w.commit(t, files)
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			w.suiteCompleted(t, sha, "")
			return sha
		},
		event: artifact.EventPush, ref: "main", want: base,
	}, {
		name: "check_run on the default branch",
		record: func(t *testing.T) string {
			sha := w.commit(t, files)
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			p := githubfake.Payload(t, "check_run", "completed")
			w.repo.Retarget(p, sha)
			w.fake.Deliver(t, w.hook, testSecret, "check_run", "", p)
			return sha
		},
		event: artifact.EventPush, ref: "main", want: plus(map[string]int{"repos/get-commit": 1}),
	}, {
		name: "an env config changed",
		record: func(t *testing.T) string {
			sha := w.commit(t, map[string]string{".auger/production.yaml": productionConfig + "# changed\n"})
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			w.suiteCompleted(t, sha, "")
			return sha
		},
		event: artifact.EventPush, ref: "main", want: plus(map[string]int{"repos/get-content": 1}),
	}, {
		name: "pull request head",
		record: func(t *testing.T) string {
			sha := w.repo.AddCommit(githubfake.Commit{Branch: "feature", Message: "feature", Files: files})
			w.repo.AddPullRequest(githubfake.PullRequest{User: "jane", HeadRef: "feature", HeadSHA: sha, Title: "feature"})
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			p := githubfake.Payload(t, "check_suite", "completed")
			w.repo.Retarget(p, sha) // head_branch "feature" and the pull request, as GitHub derives them
			person := map[string]any{"name": "Jane Doe", "email": "jane@example.com"}
			p["check_suite"].(map[string]any)["head_commit"] = map[string]any{"id": sha, "tree_id": sha, "message": "feature",
				"timestamp": "2026-11-21T10:00:00Z", "author": person, "committer": person}
			w.fake.Deliver(t, w.hook, testSecret, "check_suite", "", p)
			return sha
		},
		event: artifact.EventPR, ref: "feature", want: base,
	}, {
		name: "branch without a pull request",
		record: func(t *testing.T) string {
			sha := w.repo.AddCommit(githubfake.Commit{Branch: "spike", Message: "spike", Files: files})
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			w.tagSuiteCompleted(t, w.hook, sha, "spike") // named after the branch, which is no tag
			return sha
		},
		event: artifact.EventPush, ref: "spike", want: plus(map[string]int{"repos/get-commit": 1}),
	}, {
		name: "lightweight tag",
		record: func(t *testing.T) string {
			sha := w.commit(t, files)
			w.repo.AddTag("v1.0.0", sha)
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			w.tagSuiteCompleted(t, w.hook, sha, "v1.0.0")
			return sha
		},
		event: artifact.EventTag, ref: "v1.0.0", want: plus(map[string]int{"repos/get-commit": 1}),
	}, {
		name: "annotated tag",
		record: func(t *testing.T) string {
			sha := w.commit(t, files)
			w.repo.AddAnnotatedTag("v1.1.0", sha, "Release v1.1.0")
			w.repo.AddCheckRun(sha, githubfake.CheckRun{Name: "build", Conclusion: "success"})
			w.tagSuiteCompleted(t, w.hook, sha, "v1.1.0")
			return sha
		},
		event: artifact.EventTag, ref: "v1.1.0", want: plus(map[string]int{"repos/get-commit": 1}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.fake.Requests())
			sha := tc.record(t)
			cr := w.waitForArtifact(t, sha)
			time.Sleep(100 * time.Millisecond) // nothing may follow
			a := artifactOf(t, cr)
			if ref := a.Version.Branch + a.Version.Tag; a.Version.Event != tc.event || ref != tc.ref {
				t.Errorf("version = %+v, want %s %s", a.Version, tc.event, tc.ref)
			}
			got, total := map[string]int{}, 0
			for _, r := range w.fake.Requests()[before:] {
				if strings.HasPrefix(r.OperationID, "apps/") {
					continue // the installation token: once an hour per process, not per recording
				}
				got[r.OperationID]++
				total++
			}
			t.Logf("%d requests: %v", total, got)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("requests = %v, want %v", got, tc.want)
			}
			if total > 4 {
				t.Errorf("%d requests for one recording; the budget is 4", total)
			}
		})
	}
}
