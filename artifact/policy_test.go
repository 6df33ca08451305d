package artifact_test

import (
	"testing"

	"github.com/auger-dev/auger/artifact"
)

func TestMatchDeploy(t *testing.T) {
	push := func(branch string) artifact.Version {
		return artifact.Version{Event: artifact.EventPush, Branch: branch}
	}
	pr := artifact.Version{Event: artifact.EventPR, Branch: "feature/x", SourceBranch: "feature/x", TargetBranch: "main"}
	prNoSource := artifact.Version{Event: artifact.EventPR, Branch: "feature/y"}
	tag := artifact.Version{Event: artifact.EventTag, Tag: "v1.2.3"}

	tests := map[string]struct {
		policy *artifact.Deploy
		v      artifact.Version
		match  bool
		reason string
	}{
		"no policy":           {policy: nil, v: push("main"), reason: "no deploy policy"},
		"push to main":        {policy: &artifact.Deploy{Branch: "main", Event: "push"}, v: push("main"), match: true, reason: `push to main matches branch "main"`},
		"other branch":        {policy: &artifact.Deploy{Branch: "main"}, v: push("feature/x"), reason: `branch feature/x does not match "main"`},
		"event mismatch":      {policy: &artifact.Deploy{Branch: "main", Event: "push"}, v: pr, reason: "event pr does not match policy event push"},
		"star stops at slash": {policy: &artifact.Deploy{Branch: "feature/*"}, v: push("feature/x/y"), reason: `branch feature/x/y does not match "feature/*"`},
		"star in a segment":   {policy: &artifact.Deploy{Branch: "feature/*"}, v: push("feature/x"), match: true, reason: `push to feature/x matches branch "feature/*"`},
		"double star":         {policy: &artifact.Deploy{Branch: "feature/**"}, v: push("feature/x/y"), match: true, reason: `push to feature/x/y matches branch "feature/**"`},
		"star alone":          {policy: &artifact.Deploy{Branch: "*"}, v: push("a/b"), reason: `branch a/b does not match "*"`},
		"negation matches":    {policy: &artifact.Deploy{Branch: "!main", Event: "pr"}, v: pr, match: true, reason: `pr from feature/x matches branch "!main"`},
		"negation excludes":   {policy: &artifact.Deploy{Branch: "!main"}, v: push("main"), reason: `branch main does not match "!main"`},
		"negated glob":        {policy: &artifact.Deploy{Branch: "!release/*"}, v: push("release/1.0"), reason: `branch release/1.0 does not match "!release/*"`},
		"pr uses source":      {policy: &artifact.Deploy{Branch: "feature/*", Event: "pr"}, v: artifact.Version{Event: artifact.EventPR, Branch: "main", SourceBranch: "feature/z"}, match: true, reason: `pr from feature/z matches branch "feature/*"`},
		"pr without source":   {policy: &artifact.Deploy{Branch: "feature/*"}, v: prNoSource, match: true, reason: `pr from feature/y matches branch "feature/*"`},
		"alternatives":        {policy: &artifact.Deploy{Branch: "{main,develop}"}, v: push("develop"), match: true, reason: `push to develop matches branch "{main,develop}"`},
		"character class":     {policy: &artifact.Deploy{Branch: "release-[0-9]"}, v: push("release-7"), match: true, reason: `push to release-7 matches branch "release-[0-9]"`},
		"invalid glob":        {policy: &artifact.Deploy{Branch: "release/["}, v: push("release/["), reason: `invalid branch pattern "release/[": invalid glob pattern`},
		"invalid negated":     {policy: &artifact.Deploy{Branch: "![", Event: "push"}, v: push("main"), reason: `invalid branch pattern "![": invalid glob pattern`},
		"bare negation":       {policy: &artifact.Deploy{Branch: "!"}, v: push("main"), reason: `invalid branch pattern "!": empty pattern`},
		"tag matches":         {policy: &artifact.Deploy{Tag: "v*", Event: "tag"}, v: tag, match: true, reason: `tag v1.2.3 matches tag "v*"`},
		"tag does not match":  {policy: &artifact.Deploy{Tag: "release-*"}, v: tag, reason: `tag v1.2.3 does not match "release-*"`},
		"tag negated":         {policy: &artifact.Deploy{Tag: "!*-rc*"}, v: artifact.Version{Event: artifact.EventTag, Tag: "v2.0.0-rc1"}, reason: `tag v2.0.0-rc1 does not match "!*-rc*"`},
		"tag policy on push":  {policy: &artifact.Deploy{Tag: "v*"}, v: push("main"), reason: `event push is not a tag; the policy matches tags "v*"`},
		"branch on tag":       {policy: &artifact.Deploy{Branch: "!main"}, v: tag, reason: `tag v1.2.3 has no branch; the policy matches branch "!main"`},
		"no branch":           {policy: &artifact.Deploy{Branch: "!main"}, v: push(""), reason: `push artifact has no branch; the policy matches branch "!main"`},
		"event only":          {policy: &artifact.Deploy{Event: "tag"}, v: tag, match: true, reason: "event tag matches policy event tag"},
		"empty policy":        {policy: &artifact.Deploy{}, v: push("main"), reason: "deploy policy has no branch, tag or event"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			match, reason := artifact.MatchDeploy(tc.policy, tc.v)
			if match != tc.match || reason != tc.reason {
				t.Errorf("MatchDeploy = %v, %q; want %v, %q", match, reason, tc.match, tc.reason)
			}
		})
	}
}

func TestMatchCleanup(t *testing.T) {
	tests := map[string]struct {
		policy *artifact.Cleanup
		event  artifact.CleanupEvent
		branch string
		match  bool
		reason string
	}{
		"no policy":      {event: artifact.CleanupPRClosed, branch: "x", reason: "no cleanup policy"},
		"any branch":     {policy: &artifact.Cleanup{Event: artifact.CleanupPRClosed, App: "a"}, event: artifact.CleanupPRClosed, branch: "feature/x", match: true, reason: "prClosed of feature/x matches policy event prClosed (any branch)"},
		"event mismatch": {policy: &artifact.Cleanup{Event: artifact.CleanupPRClosed, App: "a"}, event: artifact.CleanupBranchDeleted, branch: "x", reason: "event branchDeleted does not match policy event prClosed"},
		"branch glob":    {policy: &artifact.Cleanup{Event: artifact.CleanupBranchDeleted, Branch: "feature/**", App: "a"}, event: artifact.CleanupBranchDeleted, branch: "feature/a/b", match: true, reason: `branchDeleted of feature/a/b matches branch "feature/**"`},
		"negated":        {policy: &artifact.Cleanup{Event: artifact.CleanupBranchDeleted, Branch: "!main", App: "a"}, event: artifact.CleanupBranchDeleted, branch: "main", reason: `branch main does not match "!main"`},
		"invalid glob":   {policy: &artifact.Cleanup{Event: artifact.CleanupPRClosed, Branch: "[", App: "a"}, event: artifact.CleanupPRClosed, branch: "x", reason: `invalid branch pattern "[": invalid glob pattern`},
		"no branch":      {policy: &artifact.Cleanup{Event: artifact.CleanupPRClosed, Branch: "!main", App: "a"}, event: artifact.CleanupPRClosed, reason: `prClosed has no branch; the policy matches branch "!main"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			match, reason := artifact.MatchCleanup(tc.policy, tc.event, tc.branch)
			if match != tc.match || reason != tc.reason {
				t.Errorf("MatchCleanup = %v, %q; want %v, %q", match, reason, tc.match, tc.reason)
			}
		})
	}
}

// commitMessagePatterns narrow a policy by the commit message, with the same
// explanation as its other fields.
func TestMatchDeployCommitMessage(t *testing.T) {
	push := func(message string) artifact.Version {
		return artifact.Version{Event: artifact.EventPush, Branch: "main", Message: message}
	}
	policy := func(patterns ...string) *artifact.Deploy {
		return &artifact.Deploy{Branch: "main", Event: "push", CommitMessagePatterns: patterns}
	}
	tests := map[string]struct {
		policy *artifact.Deploy
		v      artifact.Version
		match  bool
		reason string
	}{
		"matches": {policy: policy("*deploy*"), v: push("fix: deploy the api/v2 change"), match: true,
			reason: `push to main matches branch "main", and the commit message matches "*deploy*"`},
		"star crosses lines": {policy: policy("*[[]deploy]*"), v: push("fix a bug\n\nbody\n[deploy] please"), match: true,
			reason: `push to main matches branch "main", and the commit message matches "*[[]deploy]*"`},
		"matches none": {policy: policy("release:*", "hotfix:*"), v: push("chore: bump\n\nmore"),
			reason: `push to main matches branch "main", but the commit message "chore: bump" matches none of "release:*", "hotfix:*"`},
		"second matches": {policy: policy("release:*", "hotfix:*"), v: push("hotfix: the api"), match: true,
			reason: `push to main matches branch "main", and the commit message matches "hotfix:*"`},
		"excluded": {policy: policy("!*skip deploy*"), v: push("docs: typo (skip deploy)"),
			reason: `push to main matches branch "main", but the commit message "docs: typo (skip deploy)" matches the excluded "!*skip deploy*"`},
		"only exclusions, not excluded": {policy: policy("!*skip deploy*"), v: push("feat: x"), match: true,
			reason: `push to main matches branch "main", and the commit message matches none of the excluded patterns`},
		"exclusion wins": {policy: policy("feat:*", "!*wip*"), v: push("feat: wip x"),
			reason: `push to main matches branch "main", but the commit message "feat: wip x" matches the excluded "!*wip*"`},
		"branch first": {policy: policy("*"), v: artifact.Version{Event: artifact.EventPush, Branch: "dev", Message: "x"},
			reason: `branch dev does not match "main"`},
		"invalid pattern": {policy: policy("[abc"), v: push("a"),
			reason: `push to main matches branch "main", but invalid commit message pattern "[abc": unexpected end of input`},
		"empty message": {policy: policy("?*"), v: push(""),
			reason: `push to main matches branch "main", but the commit message "" matches none of "?*"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			match, reason := artifact.MatchDeploy(tc.policy, tc.v)
			if match != tc.match || reason != tc.reason {
				t.Errorf("MatchDeploy = %v, %q; want %v, %q", match, reason, tc.match, tc.reason)
			}
		})
	}
}
