package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"unicode/utf8"
)

type createDeploymentBody struct {
	Ref                   string          `json:"ref"`
	Task                  *string         `json:"task"`
	AutoMerge             *bool           `json:"auto_merge"`
	RequiredContexts      *[]string       `json:"required_contexts"`
	Payload               json.RawMessage `json:"payload"`
	Environment           *string         `json:"environment"`
	Description           *string         `json:"description"`
	TransientEnvironment  bool            `json:"transient_environment"`
	ProductionEnvironment *bool           `json:"production_environment"`
}

// createDeployment implements repos/create-deployment. Without required_contexts
// GitHub insists that every status and check on the commit succeeded (409 otherwise);
// pass an empty list to skip that. auto_merge is accepted but never merges.
func createDeployment(c *call) reply {
	var b createDeploymentBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	commit := c.repo.commit(b.Ref)
	if commit == nil {
		return c.invalid("No ref found for: " + b.Ref)
	}
	if failing := c.repo.failingContexts(commit.SHA, b.RequiredContexts); len(failing) > 0 {
		return reply{status: http.StatusConflict, body: map[string]any{
			"message":           fmt.Sprintf("Conflict: Commit status checks failed for %s.", b.Ref),
			"documentation_url": docsURL(c.route),
			"errors": []any{map[string]any{
				"contexts": failing, "resource": "Deployment", "field": "required_contexts", "code": "invalid",
			}},
		}}
	}
	d := &Deployment{ID: c.f.newID(), Ref: b.Ref, SHA: commit.SHA, Task: "deploy", Environment: "production",
		Creator: botLogin, TransientEnvironment: b.TransientEnvironment, CreatedAt: now()}
	if b.Task != nil {
		d.Task = *b.Task
	}
	if b.Environment != nil {
		d.Environment = *b.Environment
	}
	if b.Description != nil {
		d.Description = *b.Description
	}
	d.ProductionEnvironment = d.Environment == "production"
	if b.ProductionEnvironment != nil {
		d.ProductionEnvironment = *b.ProductionEnvironment
	}
	if len(b.Payload) > 0 {
		var payload any
		if err := json.Unmarshal(b.Payload, &payload); err == nil {
			d.Payload = payload
		}
	}
	c.repo.deployments = append(c.repo.deployments, d)
	return created(c.repo.deploymentJSON(d))
}

// failingContexts returns the required status contexts and check names that did not
// succeed on sha; required nil means all of them.
func (r *Repo) failingContexts(sha string, required *[]string) []string {
	state := map[string]string{}
	for _, s := range r.statuses { // oldest first: the newest per context wins
		if s.SHA == sha {
			state[s.Context] = s.State
		}
	}
	for _, cr := range r.checkRuns {
		if cr.HeadSHA == sha {
			st := "pending"
			switch cr.Conclusion {
			case "success", "neutral", "skipped":
				st = "success"
			case "":
			default:
				st = "failure"
			}
			state[cr.Name] = st
		}
	}
	var failing []string
	if required == nil {
		for ctx, st := range state {
			if st != "success" {
				failing = append(failing, ctx)
			}
		}
	} else {
		for _, ctx := range *required {
			if state[ctx] != "success" {
				failing = append(failing, ctx)
			}
		}
	}
	slices.Sort(failing)
	return failing
}

// listDeployments implements repos/list-deployments with the sha, ref, task and
// environment filters, newest first.
func listDeployments(c *call) reply {
	q := c.query
	var list []*Deployment
	for _, d := range c.repo.deployments {
		if (q.Get("sha") != "" && d.SHA != q.Get("sha")) || (q.Get("ref") != "" && d.Ref != q.Get("ref")) ||
			(q.Get("task") != "" && d.Task != q.Get("task")) || (q.Get("environment") != "" && d.Environment != q.Get("environment")) {
			continue
		}
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	lo, hi := c.page(len(list))
	out := []any{}
	for _, d := range list[lo:hi] {
		out = append(out, c.repo.deploymentJSON(d))
	}
	return okJSON(out)
}

type deploymentStatusBody struct {
	State          string  `json:"state"`
	TargetURL      *string `json:"target_url"`
	LogURL         *string `json:"log_url"`
	Description    *string `json:"description"`
	Environment    *string `json:"environment"`
	EnvironmentURL *string `json:"environment_url"`
	AutoInactive   *bool   `json:"auto_inactive"`
}

// createDeploymentStatus implements repos/create-deployment-status. A success status
// marks the earlier deployments of the environment inactive (auto_inactive, default
// true) unless they are transient or production, as GitHub documents.
func createDeploymentStatus(c *call) reply {
	d := c.repo.deployment(c.intParam("deployment_id"))
	if d == nil {
		return c.notFound()
	}
	var b deploymentStatusBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	s := DeploymentStatus{ID: c.f.newID(), State: b.State, Environment: d.Environment, Creator: botLogin, CreatedAt: now()}
	if b.Description != nil {
		if utf8.RuneCountInString(*b.Description) > maxStatusDescription {
			return c.invalid("Validation Failed", fieldError{Resource: "DeploymentStatus", Field: "description", Code: "custom",
				Message: "description is too long (maximum is 140 characters)"})
		}
		s.Description = *b.Description
	}
	if b.LogURL != nil {
		s.LogURL = *b.LogURL
	}
	if b.TargetURL != nil {
		s.TargetURL = *b.TargetURL
	}
	if b.EnvironmentURL != nil {
		s.EnvironmentURL = *b.EnvironmentURL
	}
	if b.Environment != nil && *b.Environment != "" {
		d.Environment, s.Environment = *b.Environment, *b.Environment
	}
	d.Statuses = append(d.Statuses, s)
	if s.State == "success" && (b.AutoInactive == nil || *b.AutoInactive) {
		for _, other := range c.repo.deployments {
			if other == d || other.Environment != d.Environment || other.TransientEnvironment || other.ProductionEnvironment {
				continue
			}
			if n := len(other.Statuses); n > 0 && other.Statuses[n-1].State == "inactive" {
				continue
			}
			other.Statuses = append(other.Statuses, DeploymentStatus{ID: c.f.newID(), State: "inactive",
				Environment: other.Environment, Creator: botLogin, CreatedAt: now()})
		}
	}
	c.header.Set("Location", c.repo.apiURL("deployments/%d/statuses/%d", d.ID, s.ID))
	return created(c.repo.deploymentStatusJSON(d, s))
}

func (r *Repo) deployment(id int64) *Deployment {
	for _, d := range r.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// deploymentJSON is GitHub's deployment object. Callers hold f.mu.
func (r *Repo) deploymentJSON(d *Deployment) map[string]any {
	payload := d.Payload
	if s, isString := payload.(string); payload == nil || (isString && s == "") {
		payload = map[string]any{}
	}
	return map[string]any{
		"id":                       d.ID,
		"node_id":                  nodeID("Deployment", d.ID),
		"url":                      r.apiURL("deployments/%d", d.ID),
		"sha":                      d.SHA,
		"ref":                      d.Ref,
		"task":                     d.Task,
		"payload":                  payload,
		"original_environment":     d.Environment,
		"environment":              d.Environment,
		"description":              orNil(d.Description),
		"creator":                  r.f.userOrNil(d.Creator),
		"created_at":               ts(d.CreatedAt),
		"updated_at":               ts(d.CreatedAt),
		"statuses_url":             r.apiURL("deployments/%d/statuses", d.ID),
		"repository_url":           r.apiURL(""),
		"transient_environment":    d.TransientEnvironment,
		"production_environment":   d.ProductionEnvironment,
		"performed_via_github_app": r.f.appJSON(appSlug),
	}
}

// deploymentStatusJSON is GitHub's deployment-status object.
func (r *Repo) deploymentStatusJSON(d *Deployment, s DeploymentStatus) map[string]any {
	target := s.LogURL
	if target == "" {
		target = s.TargetURL
	}
	m := map[string]any{
		"id":                       s.ID,
		"node_id":                  nodeID("DeploymentStatus", s.ID),
		"url":                      r.apiURL("deployments/%d/statuses/%d", d.ID, s.ID),
		"state":                    s.State,
		"creator":                  r.f.userOrNil(s.Creator),
		"description":              s.Description,
		"environment":              s.Environment,
		"target_url":               target,
		"created_at":               ts(s.CreatedAt),
		"updated_at":               ts(s.CreatedAt),
		"deployment_url":           r.apiURL("deployments/%d", d.ID),
		"repository_url":           r.apiURL(""),
		"performed_via_github_app": r.f.appJSON(appSlug),
	}
	// log_url and environment_url are uri-formatted: leave them out rather than "".
	if target != "" {
		m["log_url"] = target
	}
	if s.EnvironmentURL != "" {
		m["environment_url"] = s.EnvironmentURL
	}
	return m
}
