package gitops

import (
	"strings"
)

// Action is what a gitops commit did, recorded in its Auger-Action trailer.
type Action string

// The actions Auger records. ActionExternal marks a commit that changed an app's
// folder without Auger's trailers (a person's or another tool's).
const (
	ActionRelease  Action = "release"
	ActionRollback Action = "rollback"
	ActionDelete   Action = "delete"
	ActionLock     Action = "lock"
	ActionUnlock   Action = "unlock"
	ActionEnv      Action = "env"
	ActionExternal Action = "external"
)

// Trailer keys, in the order they are written.
const (
	trailerAction      = "Auger-Action"
	trailerApp         = "Auger-App"
	trailerEnv         = "Auger-Env"
	trailerArtifact    = "Auger-Artifact"
	trailerRepository  = "Auger-Repository"
	trailerSha         = "Auger-Sha"
	trailerTriggeredBy = "Auger-Triggered-By"
	trailerTrigger     = "Auger-Trigger"
	trailerRollbackTo  = "Auger-Rollback-To"
)

// Trailers are the facts a gitops commit records about itself; `git log` of the gitops
// repository is Auger's audit log.
type Trailers struct {
	Action      Action
	App         string
	Env         string
	Artifact    string
	Repository  string
	Sha         string
	TriggeredBy string
	Trigger     string
	RollbackTo  string
}

func (t Trailers) pairs() [][2]string {
	return [][2]string{
		{trailerAction, string(t.Action)},
		{trailerApp, t.App},
		{trailerEnv, t.Env},
		{trailerArtifact, t.Artifact},
		{trailerRepository, t.Repository},
		{trailerSha, t.Sha},
		{trailerTriggeredBy, t.TriggeredBy},
		{trailerTrigger, t.Trigger},
		{trailerRollbackTo, t.RollbackTo},
	}
}

// message builds a commit message: subject, blank line, trailers. Values are folded
// onto one line so user input cannot forge another trailer.
func message(subject string, t Trailers) string {
	var b strings.Builder
	b.WriteString(oneLine(subject))
	b.WriteString("\n\n")
	for _, kv := range t.pairs() {
		if v := oneLine(kv[1]); v != "" {
			b.WriteString(kv[0])
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseTrailers reads Auger's trailers from the last paragraph of a commit message.
func parseTrailers(msg string) (Trailers, bool) {
	msg = strings.TrimRight(msg, "\n ")
	if i := strings.LastIndex(msg, "\n\n"); i >= 0 {
		msg = msg[i+2:]
	} else {
		return Trailers{}, false
	}
	var t Trailers
	found := false
	for _, line := range strings.Split(msg, "\n") {
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		found = found || strings.HasPrefix(key, "Auger-")
		switch key {
		case trailerAction:
			t.Action = Action(value)
		case trailerApp:
			t.App = value
		case trailerEnv:
			t.Env = value
		case trailerArtifact:
			t.Artifact = value
		case trailerRepository:
			t.Repository = value
		case trailerSha:
			t.Sha = value
		case trailerTriggeredBy:
			t.TriggeredBy = value
		case trailerTrigger:
			t.Trigger = value
		case trailerRollbackTo:
			t.RollbackTo = value
		}
	}
	return t, found && t.Action != ""
}
