package artifact_test

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
)

const sha = "deae5dbaf237766240181fa397e923d3c5253112"

func TestFromCI(t *testing.T) {
	// Variables every job has that must never reach an artifact.
	noise := []string{"HOME=/root", "PATH=/usr/bin", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "MY_API_KEY=x", "EMPTY"}
	tests := map[string]struct {
		environ     []string
		wantVersion artifact.Version
		wantContext map[string]string
	}{
		"github push": {
			environ: []string{
				"CI=true", "GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=mycompany/frontend", "GITHUB_SHA=" + sha,
				"GITHUB_REF=refs/heads/main", "GITHUB_REF_NAME=main", "GITHUB_REF_TYPE=branch", "GITHUB_EVENT_NAME=push",
				"GITHUB_ACTOR=jane", "GITHUB_SERVER_URL=https://github.com", "GITHUB_RUN_ID=42",
				"GITHUB_TOKEN=ghs_secret", "ACTIONS_RUNTIME_TOKEN=x", "GITHUB_EVENT_PATH=/home/runner/event.json",
			},
			wantVersion: artifact.Version{
				RepositoryName: "mycompany/frontend", SHA: sha, Branch: "main", Event: artifact.EventPush,
				AuthorName: "jane", URL: "https://github.com/mycompany/frontend/commit/" + sha,
			},
			wantContext: map[string]string{
				"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "mycompany/frontend", "GITHUB_SHA": sha,
				"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
				"GITHUB_EVENT_NAME": "push", "GITHUB_ACTOR": "jane", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
			},
		},
		"github pull request": {
			environ: []string{
				"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=mycompany/frontend", "GITHUB_SHA=" + sha,
				"GITHUB_REF=refs/pull/100/merge", "GITHUB_REF_NAME=100/merge", "GITHUB_REF_TYPE=branch",
				"GITHUB_EVENT_NAME=pull_request", "GITHUB_HEAD_REF=new-feature", "GITHUB_BASE_REF=main",
				"GITHUB_SERVER_URL=https://github.example.com/",
			},
			wantVersion: artifact.Version{
				RepositoryName: "mycompany/frontend", SHA: sha, Branch: "new-feature", Event: artifact.EventPR,
				SourceBranch: "new-feature", TargetBranch: "main", URL: "https://github.example.com/mycompany/frontend/pull/100",
			},
			wantContext: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "mycompany/frontend", "GITHUB_SHA": sha,
				"GITHUB_REF": "refs/pull/100/merge", "GITHUB_REF_NAME": "100/merge", "GITHUB_REF_TYPE": "branch",
				"GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "new-feature", "GITHUB_BASE_REF": "main",
				"GITHUB_SERVER_URL": "https://github.example.com/",
			},
		},
		"github pull_request_target": {
			environ: []string{
				"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=o/r", "GITHUB_SHA=" + sha, "GITHUB_REF=refs/heads/main",
				"GITHUB_EVENT_NAME=pull_request_target", "GITHUB_HEAD_REF=fork-branch", "GITHUB_BASE_REF=main",
			},
			wantVersion: artifact.Version{
				RepositoryName: "o/r", SHA: sha, Branch: "fork-branch", SourceBranch: "fork-branch", TargetBranch: "main",
				Event: artifact.EventPR, URL: "https://github.com/o/r/commit/" + sha,
			},
			wantContext: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main",
				"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_HEAD_REF": "fork-branch", "GITHUB_BASE_REF": "main",
			},
		},
		"github tag": {
			environ: []string{
				"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=o/r", "GITHUB_SHA=" + sha, "GITHUB_REF=refs/tags/v1.0.0",
				"GITHUB_REF_NAME=v1.0.0", "GITHUB_REF_TYPE=tag", "GITHUB_EVENT_NAME=push",
			},
			wantVersion: artifact.Version{
				RepositoryName: "o/r", SHA: sha, Tag: "v1.0.0", Event: artifact.EventTag, URL: "https://github.com/o/r/commit/" + sha,
			},
			wantContext: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": sha, "GITHUB_REF": "refs/tags/v1.0.0",
				"GITHUB_REF_NAME": "v1.0.0", "GITHUB_REF_TYPE": "tag", "GITHUB_EVENT_NAME": "push",
			},
		},
		"circleci pull request": {
			environ: []string{
				"CI=true", "CIRCLECI=true", "CIRCLE_PROJECT_USERNAME=mycompany", "CIRCLE_PROJECT_REPONAME=frontend",
				"CIRCLE_SHA1=" + sha, "CIRCLE_BRANCH=new-feature", "CIRCLE_BUILD_NUM=2254",
				"CIRCLE_PULL_REQUEST=https://github.com/mycompany/frontend/pull/100", "CIRCLE_OIDC_TOKEN=eyJ",
				"CIRCLE_INTERNAL_TASK_DATA=/x",
			},
			wantVersion: artifact.Version{
				RepositoryName: "mycompany/frontend", SHA: sha, Branch: "new-feature", SourceBranch: "new-feature",
				Event: artifact.EventPR, URL: "https://github.com/mycompany/frontend/pull/100",
			},
			wantContext: map[string]string{
				"CI": "true", "CIRCLECI": "true", "CIRCLE_PROJECT_USERNAME": "mycompany", "CIRCLE_PROJECT_REPONAME": "frontend",
				"CIRCLE_SHA1": sha, "CIRCLE_BRANCH": "new-feature", "CIRCLE_BUILD_NUM": "2254",
				"CIRCLE_PULL_REQUEST": "https://github.com/mycompany/frontend/pull/100",
			},
		},
		"circleci push and tag": {
			environ: []string{"CIRCLECI=true", "CIRCLE_PROJECT_USERNAME=o", "CIRCLE_PROJECT_REPONAME=r", "CIRCLE_SHA1=" + sha, "CIRCLE_TAG=v2"},
			wantVersion: artifact.Version{
				RepositoryName: "o/r", SHA: sha, Tag: "v2", Event: artifact.EventTag,
			},
			wantContext: map[string]string{"CIRCLECI": "true", "CIRCLE_PROJECT_USERNAME": "o", "CIRCLE_PROJECT_REPONAME": "r", "CIRCLE_SHA1": sha, "CIRCLE_TAG": "v2"},
		},
		"gitlab merge request": {
			environ: []string{
				"CI=true", "GITLAB_CI=true", "CI_PROJECT_PATH=mycompany/frontend", "CI_COMMIT_SHA=" + sha,
				"CI_PIPELINE_SOURCE=merge_request_event", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=new-feature",
				"CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main", "CI_MERGE_REQUEST_IID=7",
				"CI_PROJECT_URL=https://gitlab.com/mycompany/frontend", "CI_COMMIT_MESSAGE=Add it",
				"CI_COMMIT_AUTHOR=Jane Doe <jane@example.com>",
				"CI_JOB_TOKEN=glcbt-secret", "CI_REGISTRY_PASSWORD=secret", "CI_JOB_JWT=eyJ",
				"CI_REPOSITORY_URL=https://gitlab-ci-token:glcbt-secret@gitlab.com/mycompany/frontend.git",
			},
			wantVersion: artifact.Version{
				RepositoryName: "mycompany/frontend", SHA: sha, Branch: "new-feature", SourceBranch: "new-feature",
				TargetBranch: "main", Event: artifact.EventPR, URL: "https://gitlab.com/mycompany/frontend/-/merge_requests/7",
				Message: "Add it", AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
			},
			wantContext: map[string]string{
				"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_PATH": "mycompany/frontend", "CI_COMMIT_SHA": sha,
				"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "new-feature",
				"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_MERGE_REQUEST_IID": "7",
				"CI_PROJECT_URL": "https://gitlab.com/mycompany/frontend",
			},
		},
		"gitlab push": {
			environ: []string{
				"GITLAB_CI=true", "CI_PROJECT_PATH=o/r", "CI_COMMIT_SHA=" + sha, "CI_COMMIT_BRANCH=main",
				"CI_PIPELINE_SOURCE=push", "CI_PROJECT_URL=https://gitlab.com/o/r",
			},
			wantVersion: artifact.Version{
				RepositoryName: "o/r", SHA: sha, Branch: "main", Event: artifact.EventPush, URL: "https://gitlab.com/o/r/-/commit/" + sha,
			},
			wantContext: map[string]string{
				"GITLAB_CI": "true", "CI_PROJECT_PATH": "o/r", "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main",
				"CI_PIPELINE_SOURCE": "push", "CI_PROJECT_URL": "https://gitlab.com/o/r",
			},
		},
		"gitlab tag": {
			environ:     []string{"GITLAB_CI=true", "CI_PROJECT_PATH=o/r", "CI_COMMIT_SHA=" + sha, "CI_COMMIT_TAG=v1"},
			wantVersion: artifact.Version{RepositoryName: "o/r", SHA: sha, Tag: "v1", Event: artifact.EventTag},
			wantContext: map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "o/r", "CI_COMMIT_SHA": sha, "CI_COMMIT_TAG": "v1"},
		},
		"generic": {
			environ:     []string{"CI=true", "CI_REPOSITORY=o/r", "CI_SHA=" + sha, "CI_BRANCH=main", "CI_EVENT=push", "CI_DEPLOY_KEY=x", "CI_OTHER=y"},
			wantVersion: artifact.Version{RepositoryName: "o/r", SHA: sha, Branch: "main", Event: artifact.EventPush},
			wantContext: map[string]string{"CI": "true", "CI_REPOSITORY": "o/r", "CI_SHA": sha, "CI_BRANCH": "main", "CI_EVENT": "push"},
		},
		"generic tag without event": {
			environ:     []string{"CI_REPOSITORY=o/r", "CI_SHA=" + sha, "CI_TAG=v3"},
			wantVersion: artifact.Version{RepositoryName: "o/r", SHA: sha, Tag: "v3", Event: artifact.EventTag},
			wantContext: map[string]string{"CI_REPOSITORY": "o/r", "CI_SHA": sha, "CI_TAG": "v3"},
		},
		"generic event is passed on for Validate to judge": {
			environ:     []string{"CI_REPOSITORY=o/r", "CI_SHA=" + sha, "CI_EVENT=deploy"},
			wantVersion: artifact.Version{RepositoryName: "o/r", SHA: sha, Event: "deploy"},
			wantContext: map[string]string{"CI_REPOSITORY": "o/r", "CI_SHA": sha, "CI_EVENT": "deploy"},
		},
		"no CI": {
			environ:     []string{"CI=true"},
			wantVersion: artifact.Version{},
			wantContext: map[string]string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, ctx := artifact.FromCI(append(tc.environ, noise...))
			if v != tc.wantVersion {
				t.Errorf("version =\n%+v\nwant\n%+v", v, tc.wantVersion)
			}
			if !reflect.DeepEqual(ctx, tc.wantContext) {
				t.Errorf("context =\n%v\nwant\n%v", ctx, tc.wantContext)
			}
		})
	}
}

func TestNew(t *testing.T) {
	v := artifact.Version{RepositoryName: "mycompany/frontend", SHA: sha, Branch: "main", Event: artifact.EventPush}
	before := time.Now().UTC().Truncate(time.Second)
	a := artifact.New(v, map[string]string{"CI": "true", "GITHUB_TOKEN": "x"})
	if !regexp.MustCompile(`^mycompany/frontend-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a.ID) {
		t.Errorf("ID = %q, want owner/name-<uuid v4>", a.ID)
	}
	if a.Created.Before(before) || a.Created.Location() != time.UTC || a.Created.Nanosecond() != 0 {
		t.Errorf("Created = %v, want now in UTC, whole seconds", a.Created)
	}
	if !reflect.DeepEqual(a.Context, map[string]string{"CI": "true"}) {
		t.Errorf("Context = %v, want the token dropped", a.Context)
	}
	if a.Version != v {
		t.Errorf("Version = %+v", a.Version)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("a new artifact from a valid version does not validate: %v", err)
	}
	if other := artifact.NewID("o/r"); other == artifact.NewID("o/r") {
		t.Error("NewID repeats itself")
	}
}
