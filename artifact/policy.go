package artifact

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/gobwas/glob"

	"github.com/auger-dev/auger/internal/text"
)

// MatchDeploy reports whether an artifact of version v should be released by policy p,
// and why, in words fit for the artifact check run ("push to main matches branch
// \"main\"", "event pr does not match policy event push"; with commit message patterns,
// what the message did too: MatchCommitMessage). Branch patterns are matched
// against the branch (for pull requests the source branch), tag patterns against the tag
// of tag events. Patterns are globs where "*" stops at "/" and "**" does not; a leading
// "!" negates. An invalid pattern never matches.
func MatchDeploy(p *Deploy, v Version) (bool, string) {
	matched, reason := matchDeployRef(p, v)
	if !matched || len(p.CommitMessagePatterns) == 0 {
		return matched, reason
	}
	ok, why := MatchCommitMessage(p.CommitMessagePatterns, v.Message)
	if !ok {
		return false, reason + ", but " + why
	}
	return true, reason + ", and " + why
}

// MatchCommitMessage reports whether a commit message passes a policy's
// commitMessagePatterns, and why: it must match one of the patterns without "!" (when
// there are any) and none of those with "!". Patterns are globs over the whole message
// where "*" matches any text, new lines included.
func MatchCommitMessage(patterns []string, message string) (bool, string) {
	quoted := text.Truncate(strings.TrimSpace(firstLine(message)), 60)
	var positive []string
	matchedBy := ""
	for _, pattern := range patterns {
		negated := strings.HasPrefix(pattern, "!")
		g, err := compileMessageGlob(strings.TrimPrefix(pattern, "!"))
		if err != nil {
			return false, fmt.Sprintf("invalid commit message pattern %q: %v", pattern, err)
		}
		hit := g.Match(message)
		switch {
		case negated && hit:
			return false, fmt.Sprintf("the commit message %q matches the excluded %q", quoted, pattern)
		case !negated:
			positive = append(positive, strconv.Quote(pattern))
			if hit && matchedBy == "" {
				matchedBy = pattern
			}
		}
	}
	switch {
	case matchedBy != "":
		return true, fmt.Sprintf("the commit message matches %q", matchedBy)
	case len(positive) > 0:
		return false, fmt.Sprintf("the commit message %q matches none of %s", quoted, strings.Join(positive, ", "))
	}
	return true, "the commit message matches none of the excluded patterns"
}

func compileMessageGlob(pattern string) (glob.Glob, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	return glob.Compile(pattern)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// matchDeployRef is MatchDeploy without the commit message.
func matchDeployRef(p *Deploy, v Version) (bool, string) {
	if p == nil {
		return false, "no deploy policy"
	}
	if p.Event != "" && v.Event != p.Event {
		return false, fmt.Sprintf("event %s does not match policy event %s", v.Event, p.Event)
	}
	switch {
	case p.Tag != "":
		if v.Event != EventTag {
			return false, fmt.Sprintf("event %s is not a tag; the policy matches tags %q", v.Event, p.Tag)
		}
		return matchRef(p.Tag, "tag", v.Tag, fmt.Sprintf("tag %s", v.Tag))
	case p.Branch != "":
		if v.Event == EventTag {
			return false, fmt.Sprintf("tag %s has no branch; the policy matches branch %q", v.Tag, p.Branch)
		}
		branch := v.Branch
		what := fmt.Sprintf("push to %s", branch)
		if v.Event == EventPR {
			if v.SourceBranch != "" {
				branch = v.SourceBranch
			}
			what = fmt.Sprintf("pr from %s", branch)
		}
		if branch == "" {
			return false, fmt.Sprintf("%s artifact has no branch; the policy matches branch %q", v.Event, p.Branch)
		}
		return matchRef(p.Branch, "branch", branch, what)
	case p.Event != "":
		return true, fmt.Sprintf("event %s matches policy event %s", v.Event, p.Event)
	default:
		// Validation refuses empty policies; one built in code matches nothing.
		return false, "deploy policy has no branch, tag or event"
	}
}

// MatchCleanup reports whether a cleanup policy fires when event happens to branch, and
// why. An empty branch pattern matches every branch.
func MatchCleanup(p *Cleanup, event CleanupEvent, branch string) (bool, string) {
	if p == nil {
		return false, "no cleanup policy"
	}
	if p.Event != event {
		return false, fmt.Sprintf("event %s does not match policy event %s", event, p.Event)
	}
	if p.Branch == "" {
		return true, fmt.Sprintf("%s of %s matches policy event %s (any branch)", event, branch, p.Event)
	}
	if branch == "" {
		return false, fmt.Sprintf("%s has no branch; the policy matches branch %q", event, p.Branch)
	}
	return matchRef(p.Branch, "branch", branch, fmt.Sprintf("%s of %s", event, branch))
}

// matchRef matches name against a glob with optional "!" negation. kind ("branch",
// "tag") and what (the artifact, described) only shape the reason.
func matchRef(pattern, kind, name, what string) (bool, string) {
	if msg := globProblem(pattern); msg != "" {
		return false, fmt.Sprintf("invalid %s pattern %s", kind, msg)
	}
	negated := strings.HasPrefix(pattern, "!")
	matched, err := doublestar.Match(strings.TrimPrefix(pattern, "!"), name)
	if err != nil {
		return false, fmt.Sprintf("invalid %s pattern %q: %v", kind, pattern, err)
	}
	if matched != negated {
		return true, fmt.Sprintf("%s matches %s %q", what, kind, pattern)
	}
	return false, fmt.Sprintf("%s %s does not match %q", kind, name, pattern)
}
