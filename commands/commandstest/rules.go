package commandstest

import (
	"context"

	"github.com/auger-dev/auger/commands"
)

// Rules fakes commands.RulesGitHub: roles, teams and reviews, and a commit's origin.
type Rules struct {
	Origin
	// Roles maps logins to their repository role; missing is "none".
	Roles map[string]string
	// Teams maps "org/team" to its members.
	Teams        map[string][]string
	ReviewsValue []commands.Review
	// Error, when set, fails every role, team and review lookup.
	Error error
}

// Permission answers from Roles.
func (r *Rules) Permission(_ context.Context, _ commands.RepoRef, login string) (string, error) {
	r.record("permission " + login)
	if r.Error != nil {
		return "", r.Error
	}
	if role, ok := r.Roles[login]; ok {
		return role, nil
	}
	return "none", nil
}

// TeamMember answers from Teams.
func (r *Rules) TeamMember(_ context.Context, org, team, login string) (bool, error) {
	r.record("team " + org + "/" + team)
	if r.Error != nil {
		return false, r.Error
	}
	for _, m := range r.Teams[org+"/"+team] {
		if m == login {
			return true, nil
		}
	}
	return false, nil
}

// Reviews answers with ReviewsValue.
func (r *Rules) Reviews(context.Context, commands.RepoRef, int) ([]commands.Review, error) {
	r.record("reviews")
	return r.ReviewsValue, r.Error
}

var _ commands.RulesGitHub = (*Rules)(nil)
