package githubfake

import (
	"net/http"
	"sort"
	"unicode/utf8"
)

// maxStatusDescription is GitHub's limit on a commit status description.
const maxStatusDescription = 140

type statusBody struct {
	State       string  `json:"state"`
	TargetURL   *string `json:"target_url"`
	Description *string `json:"description"`
	Context     *string `json:"context"`
}

// createStatus implements repos/create-commit-status.
func createStatus(c *call) reply {
	var b statusBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	// Statuses are set on a full commit id, not on a branch or a short sha.
	commit := c.repo.commits[c.params["sha"]]
	if commit == nil {
		return c.invalid("No commit found for SHA: " + c.params["sha"])
	}
	s := &Status{ID: c.f.newID(), SHA: commit.SHA, State: b.State, Context: "default", Creator: botLogin, CreatedAt: now()}
	if b.Context != nil && *b.Context != "" {
		s.Context = *b.Context
	}
	if b.Description != nil {
		if utf8.RuneCountInString(*b.Description) > maxStatusDescription {
			return c.invalid("Validation Failed", fieldError{Resource: "Status", Field: "description", Code: "custom",
				Message: "description is too long (maximum is 140 characters)"})
		}
		s.Description = *b.Description
	}
	if b.TargetURL != nil {
		s.TargetURL = *b.TargetURL
	}
	c.repo.statuses = append(c.repo.statuses, s)
	c.header.Set("Location", c.repo.apiURL("statuses/%s", commit.SHA))
	return created(c.repo.statusJSON(s))
}

// listStatuses implements repos/list-commit-statuses-for-ref, newest first.
func listStatuses(c *call) reply {
	commit := c.repo.commit(c.params["ref"])
	if commit == nil {
		return c.invalid("No commit found for SHA: " + c.params["ref"])
	}
	var list []*Status
	for _, s := range c.repo.statuses {
		if s.SHA == commit.SHA {
			list = append(list, s)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	lo, hi := c.page(len(list))
	out := []any{}
	for _, s := range list[lo:hi] {
		out = append(out, c.repo.statusJSON(s))
	}
	return okJSON(out)
}

// statusJSON is GitHub's status object. Callers hold f.mu.
func (r *Repo) statusJSON(s *Status) map[string]any {
	return map[string]any{
		"id":          s.ID,
		"node_id":     nodeID("StatusContext", s.ID),
		"url":         r.apiURL("statuses/%s", s.SHA),
		"avatar_url":  "https://avatars.githubusercontent.com/in/1?v=4",
		"state":       s.State,
		"context":     s.Context,
		"description": orNil(s.Description),
		"target_url":  orNil(s.TargetURL),
		"creator":     r.f.userOrNil(s.Creator),
		"created_at":  ts(s.CreatedAt),
		"updated_at":  ts(s.CreatedAt),
	}
}
