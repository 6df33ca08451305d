package artifact

import (
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The CI variables each CI may put into an artifact's context. They are fixed lists
// rather than prefixes: a prefix would also pass GitLab's CI_REPOSITORY_URL (which
// embeds the job token), CircleCI's CIRCLE_OIDC_TOKEN, and whatever a team names
// CI_SOMETHING. RedactContext still runs over them.
var (
	githubContextVars = []string{
		"CI", "GITHUB_ACTIONS", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_NAME", "GITHUB_REF_TYPE",
		"GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT", "GITHUB_REPOSITORY",
		"GITHUB_REPOSITORY_ID", "GITHUB_SERVER_URL", "GITHUB_WORKFLOW", "GITHUB_JOB",
		"GITHUB_ACTOR", "GITHUB_EVENT_NAME", "GITHUB_HEAD_REF", "GITHUB_BASE_REF",
	}
	circleContextVars = []string{
		"CI", "CIRCLECI", "CIRCLE_BRANCH", "CIRCLE_BUILD_NUM", "CIRCLE_BUILD_URL", "CIRCLE_JOB",
		"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "CIRCLE_PR_NUMBER", "CIRCLE_PR_REPONAME",
		"CIRCLE_PR_USERNAME", "CIRCLE_PREVIOUS_BUILD_NUM", "CIRCLE_PROJECT_REPONAME",
		"CIRCLE_PROJECT_USERNAME", "CIRCLE_PULL_REQUEST", "CIRCLE_PULL_REQUESTS",
		"CIRCLE_REPOSITORY_URL", "CIRCLE_SHA1", "CIRCLE_TAG", "CIRCLE_USERNAME",
		"CIRCLE_WORKFLOW_ID", "CIRCLE_WORKFLOW_JOB_ID", "CIRCLE_WORKFLOW_WORKSPACE_ID",
	}
	gitlabContextVars = []string{
		"CI", "GITLAB_CI", "CI_COMMIT_SHA", "CI_COMMIT_SHORT_SHA", "CI_COMMIT_BRANCH",
		"CI_COMMIT_TAG", "CI_COMMIT_REF_NAME", "CI_COMMIT_REF_SLUG", "CI_COMMIT_BEFORE_SHA",
		"CI_DEFAULT_BRANCH", "CI_JOB_ID", "CI_JOB_NAME", "CI_JOB_STAGE", "CI_JOB_URL",
		"CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
		"CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_PIPELINE_ID", "CI_PIPELINE_IID",
		"CI_PIPELINE_SOURCE", "CI_PIPELINE_URL", "CI_PROJECT_ID", "CI_PROJECT_NAME",
		"CI_PROJECT_NAMESPACE", "CI_PROJECT_PATH", "CI_PROJECT_URL", "CI_SERVER_URL",
	}
	genericContextVars = []string{"CI", "CI_REPOSITORY", "CI_SHA", "CI_BRANCH", "CI_TAG", "CI_EVENT"}
)

// FromCI reads the version of the commit being built, and the CI variables worth keeping
// as the artifact's context, from a CI job's environment (as os.Environ gives it). It
// knows GitHub Actions, CircleCI and GitLab CI, and a generic CI_REPOSITORY, CI_SHA,
// CI_BRANCH, CI_TAG, CI_EVENT set for the others. The context is an allow-list of the
// detected CI's variables, redacted (RedactContext). Outside a known CI both results
// are empty; Validate then says what is missing.
//
// On GitHub pull_request events GITHUB_SHA is the test merge commit, not the head of
// the pull request; the head sha is only in the event payload ($GITHUB_EVENT_PATH),
// which a caller that reads files should use to correct Version.SHA.
func FromCI(environ []string) (Version, map[string]string) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var v Version
	var names []string
	switch {
	case env["GITHUB_ACTIONS"] == "true":
		v, names = fromGitHubActions(env), githubContextVars
	case env["CIRCLECI"] == "true":
		v, names = fromCircleCI(env), circleContextVars
	case env["GITLAB_CI"] == "true":
		v, names = fromGitLabCI(env), gitlabContextVars
	case env["CI_SHA"] != "" || env["CI_REPOSITORY"] != "":
		v, names = fromGenericCI(env), genericContextVars
	default:
		return Version{}, map[string]string{}
	}
	ctx := make(map[string]string, len(names))
	for _, name := range names {
		if value, ok := env[name]; ok {
			ctx[name] = value
		}
	}
	kept, _ := RedactContext(ctx)
	return v, kept
}

func fromGitHubActions(env map[string]string) Version {
	v := Version{
		RepositoryName: env["GITHUB_REPOSITORY"],
		SHA:            env["GITHUB_SHA"],
		AuthorName:     env["GITHUB_ACTOR"], // who triggered the run: the best the environment offers
	}
	server := strings.TrimSuffix(env["GITHUB_SERVER_URL"], "/")
	if server == "" {
		server = "https://github.com"
	}
	repoURL := server + "/" + v.RepositoryName
	ref := env["GITHUB_REF"]
	switch {
	case env["GITHUB_EVENT_NAME"] == "pull_request" || env["GITHUB_EVENT_NAME"] == "pull_request_target":
		v.Event = EventPR
		v.Branch = env["GITHUB_HEAD_REF"]
		v.SourceBranch = env["GITHUB_HEAD_REF"]
		v.TargetBranch = env["GITHUB_BASE_REF"]
		if m := prRefPattern.FindStringSubmatch(ref); m != nil {
			v.URL = repoURL + "/pull/" + m[1]
		}
	case env["GITHUB_REF_TYPE"] == "tag" || strings.HasPrefix(ref, "refs/tags/"):
		v.Event = EventTag
		v.Tag = env["GITHUB_REF_NAME"]
		if v.Tag == "" {
			v.Tag = strings.TrimPrefix(ref, "refs/tags/")
		}
	case env["GITHUB_REF_TYPE"] == "branch" || strings.HasPrefix(ref, "refs/heads/"):
		// push, and also workflow_dispatch, schedule and the like on a branch.
		v.Event = EventPush
		v.Branch = env["GITHUB_REF_NAME"]
		if v.Branch == "" {
			v.Branch = strings.TrimPrefix(ref, "refs/heads/")
		}
	}
	if v.URL == "" && v.SHA != "" {
		v.URL = repoURL + "/commit/" + v.SHA
	}
	return v
}

func fromCircleCI(env map[string]string) Version {
	v := Version{
		SHA:    env["CIRCLE_SHA1"],
		Branch: env["CIRCLE_BRANCH"],
	}
	if owner, name := env["CIRCLE_PROJECT_USERNAME"], env["CIRCLE_PROJECT_REPONAME"]; owner != "" || name != "" {
		v.RepositoryName = owner + "/" + name
	}
	switch {
	case env["CIRCLE_TAG"] != "":
		v.Event = EventTag
		v.Tag = env["CIRCLE_TAG"]
		v.Branch = ""
	case env["CIRCLE_PULL_REQUEST"] != "":
		v.Event = EventPR
		v.SourceBranch = env["CIRCLE_BRANCH"]
		v.URL = env["CIRCLE_PULL_REQUEST"]
	case env["CIRCLE_BRANCH"] != "":
		v.Event = EventPush
	}
	return v
}

func fromGitLabCI(env map[string]string) Version {
	v := Version{
		RepositoryName: env["CI_PROJECT_PATH"],
		SHA:            env["CI_COMMIT_SHA"],
		Message:        env["CI_COMMIT_MESSAGE"],
	}
	if author, err := mail.ParseAddress(env["CI_COMMIT_AUTHOR"]); err == nil {
		v.AuthorName, v.AuthorEmail = author.Name, author.Address
	}
	project := strings.TrimSuffix(env["CI_PROJECT_URL"], "/")
	switch {
	case env["CI_COMMIT_TAG"] != "":
		v.Event = EventTag
		v.Tag = env["CI_COMMIT_TAG"]
	case env["CI_PIPELINE_SOURCE"] == "merge_request_event":
		v.Event = EventPR
		v.Branch = env["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"]
		v.SourceBranch = v.Branch
		v.TargetBranch = env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"]
		if iid := env["CI_MERGE_REQUEST_IID"]; project != "" && iid != "" {
			v.URL = project + "/-/merge_requests/" + iid
		}
	case env["CI_COMMIT_BRANCH"] != "":
		v.Event = EventPush
		v.Branch = env["CI_COMMIT_BRANCH"]
	}
	if v.URL == "" && project != "" && v.SHA != "" {
		v.URL = project + "/-/commit/" + v.SHA
	}
	return v
}

func fromGenericCI(env map[string]string) Version {
	v := Version{
		RepositoryName: env["CI_REPOSITORY"],
		SHA:            env["CI_SHA"],
		Branch:         env["CI_BRANCH"],
		Tag:            env["CI_TAG"],
		Event:          Event(env["CI_EVENT"]), // Validate rejects anything but push, pr, tag
	}
	if v.Event == "" {
		switch {
		case v.Tag != "":
			v.Event = EventTag
		case v.Branch != "":
			v.Event = EventPush
		}
	}
	return v
}

// NewID returns a new artifact id: the repository name, a dash and a random UUID, as
// in mycompany/frontend-ffd302df-2d85-4aa4-acd1-957ea6bcceeb.
func NewID(repositoryName string) string {
	// uuid.NewString panics only when crypto/rand fails, which since Go 1.24 cannot
	// happen (the runtime aborts first).
	return repositoryName + "-" + uuid.NewString()
}

// New starts an artifact for version v: a new id, created now (UTC, whole seconds),
// and ctx with the secrets taken out. Environments and items are for the caller to add.
func New(v Version, ctx map[string]string) *Artifact {
	kept, _ := RedactContext(ctx)
	return &Artifact{
		ID:           NewID(v.RepositoryName),
		Created:      time.Now().UTC().Truncate(time.Second),
		Version:      v,
		Context:      kept,
		Environments: []EnvConfig{},
	}
}
