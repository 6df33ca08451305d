package commands_test

import (
	"testing"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
)

// A policy with commit message patterns releases only the commits whose message
// matches, and the verdict the artifact check run shows says why.
func TestPolicyVerdictCommitMessage(t *testing.T) {
	r := &commands.Recorder{Environments: []commands.EnvironmentRules{{Name: "staging"}}}
	ec := artifact.EnvConfig{App: "web", Env: "staging", Deploy: &artifact.Deploy{Branch: "main", CommitMessagePatterns: []string{"release:*", "!*[[]skip deploy]*"}}}
	tests := map[string]struct {
		message string
		want    string
	}{
		"control: matches":   {message: "release: 1.2", want: `will release: push to main matches branch "main", and the commit message matches "release:*"`},
		"no pattern matches": {message: "chore: lint", want: `no: push to main matches branch "main", but the commit message "chore: lint" matches none of "release:*"`},
		"excluded":           {message: "release: x [skip deploy]", want: `no: push to main matches branch "main", but the commit message "release: x [skip deploy]" matches the excluded "!*[[]skip deploy]*"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := artifact.Version{Event: artifact.EventPush, Branch: "main", Message: tc.message}
			if got := r.PolicyVerdict(ec, v).String(); got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		})
	}
}
