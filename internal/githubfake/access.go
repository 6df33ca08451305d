package githubfake

import (
	"strings"
)

// legacyPermission maps a role to the permission field GitHub still reports beside
// role_name: maintain reads as write and triage as read.
var legacyPermission = map[string]string{
	"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none",
}

// getCollaboratorPermission implements repos/get-collaborator-permission-level. Users
// without a permission set (SetPermission) have none.
func getCollaboratorPermission(c *call) reply {
	login := c.params["username"]
	role := c.repo.permissions[strings.ToLower(login)]
	if role == "" {
		role = "none"
	}
	user := c.f.userJSON(login)
	user["role_name"] = role
	user["permissions"] = map[string]any{
		"admin":    role == "admin",
		"maintain": role == "admin" || role == "maintain",
		"push":     role == "admin" || role == "maintain" || role == "write",
		"triage":   role != "none" && role != "read",
		"pull":     role != "none",
	}
	return okJSON(map[string]any{
		"permission": legacyPermission[role],
		"role_name":  role,
		"user":       user,
	})
}

// getTeamMembership implements teams/get-membership-for-user-in-org: 404 unless the
// user was added with AddTeamMember.
func getTeamMembership(c *call) reply {
	org, team, login := c.params["org"], c.params["team_slug"], c.params["username"]
	role, found := c.f.teams[strings.ToLower(org+"/"+team)][strings.ToLower(login)]
	if !found {
		return c.notFound()
	}
	return okJSON(map[string]any{
		"url":   c.f.URL + "organizations/" + org + "/team/" + team + "/memberships/" + login,
		"role":  role,
		"state": "active",
	})
}
