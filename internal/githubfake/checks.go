package githubfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// GitHub's limits on check runs, enforced with 422 like GitHub (the description states
// most of them too, so a violation is also reported as Auger's mistake).
const (
	maxAnnotationsPerRequest = 50
	maxActions               = 3
	maxActionLabel           = 20
	maxActionDescription     = 40
	maxActionIdentifier      = 20
	maxOutputText            = 65535
)

// checkRunBody is the body of checks/create and checks/update; pointers tell absent
// fields from empty ones.
type checkRunBody struct {
	Name        *string           `json:"name"`
	HeadSHA     string            `json:"head_sha"`
	DetailsURL  *string           `json:"details_url"`
	ExternalID  *string           `json:"external_id"`
	Status      *string           `json:"status"`
	StartedAt   *time.Time        `json:"started_at"`
	Conclusion  *string           `json:"conclusion"`
	CompletedAt *time.Time        `json:"completed_at"`
	Output      *checkRunOutput   `json:"output"`
	Actions     *[]CheckRunAction `json:"actions"`
}

type checkRunOutput struct {
	Title       *string          `json:"title"`
	Summary     *string          `json:"summary"`
	Text        *string          `json:"text"`
	Annotations []annotationBody `json:"annotations"`
}

type annotationBody struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     int    `json:"start_column"`
	EndColumn       int    `json:"end_column"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title"`
	RawDetails      string `json:"raw_details"`
}

// limits returns GitHub's complaint about b, or "".
func (b *checkRunBody) limits() string {
	if b.Actions != nil {
		if len(*b.Actions) > maxActions {
			return fmt.Sprintf("Only %d actions can be added per request", maxActions)
		}
		for _, a := range *b.Actions {
			switch {
			case utf8.RuneCountInString(a.Label) > maxActionLabel:
				return fmt.Sprintf("label is too long (maximum is %d characters)", maxActionLabel)
			case utf8.RuneCountInString(a.Description) > maxActionDescription:
				return fmt.Sprintf("description is too long (maximum is %d characters)", maxActionDescription)
			case utf8.RuneCountInString(a.Identifier) > maxActionIdentifier:
				return fmt.Sprintf("identifier is too long (maximum is %d characters)", maxActionIdentifier)
			}
		}
	}
	if o := b.Output; o != nil {
		if len(o.Annotations) > maxAnnotationsPerRequest {
			return fmt.Sprintf("Only %d annotations can be added per request", maxAnnotationsPerRequest)
		}
		if o.Summary != nil && utf8.RuneCountInString(*o.Summary) > maxOutputText {
			return fmt.Sprintf("summary is too long (maximum is %d characters)", maxOutputText)
		}
		if o.Text != nil && utf8.RuneCountInString(*o.Text) > maxOutputText {
			return fmt.Sprintf("text is too long (maximum is %d characters)", maxOutputText)
		}
		for _, a := range o.Annotations {
			if (a.StartColumn != 0 || a.EndColumn != 0) && a.StartLine != a.EndLine {
				return "start_column and end_column may only be used when start_line and end_line are equal"
			}
			if a.EndLine < a.StartLine {
				return "end_line must be greater than or equal to start_line"
			}
		}
	}
	if b.Conclusion == nil && (b.CompletedAt != nil || (b.Status != nil && *b.Status == "completed")) {
		return "Invalid request.\n\n\"conclusion\" wasn't supplied."
	}
	return ""
}

// apply sets the fields of b on cr, GitHub's way: a conclusion completes the run,
// output replaces title, summary and text and appends annotations.
func (b *checkRunBody) apply(cr *CheckRun) {
	if b.Name != nil && *b.Name != "" {
		cr.Name = *b.Name
	}
	if b.DetailsURL != nil {
		cr.DetailsURL = *b.DetailsURL
	}
	if b.ExternalID != nil {
		cr.ExternalID = *b.ExternalID
	}
	if b.StartedAt != nil {
		cr.StartedAt = b.StartedAt.UTC()
	}
	if b.Status != nil {
		cr.Status = *b.Status
		if cr.Status != "completed" {
			cr.Conclusion = ""
			cr.CompletedAt = time.Time{}
		}
	}
	if b.Conclusion != nil {
		cr.Conclusion = *b.Conclusion
		cr.Status = "completed"
	}
	if b.CompletedAt != nil {
		cr.CompletedAt = b.CompletedAt.UTC()
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now()
	}
	if o := b.Output; o != nil {
		if o.Title != nil {
			cr.Output.Title = *o.Title
		}
		if o.Summary != nil {
			cr.Output.Summary = *o.Summary
		}
		if o.Text != nil {
			cr.Output.Text = *o.Text
		}
		for _, a := range o.Annotations {
			cr.Output.Annotations = append(cr.Output.Annotations, Annotation(a))
		}
	}
	if b.Actions != nil {
		cr.Actions = append([]CheckRunAction(nil), *b.Actions...)
	}
}

// createCheckRun implements checks/create.
func createCheckRun(c *call) reply {
	var b checkRunBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	if msg := b.limits(); msg != "" {
		return c.invalid(msg)
	}
	// head_sha must be a full commit id: GitHub does not resolve branches here.
	commit := c.repo.commits[b.HeadSHA]
	if commit == nil {
		return c.invalid("No commit found for SHA: " + b.HeadSHA)
	}
	cr := &CheckRun{HeadSHA: commit.SHA, AppSlug: c.app(), Status: "queued", StartedAt: now()}
	b.apply(cr)
	c.repo.addCheckRun(cr)
	c.header.Set("Location", c.repo.apiURL("check-runs/%d", cr.ID))
	return created(c.repo.checkRunJSON(cr))
}

// updateCheckRun implements checks/update. Only the App that created a run may change
// it.
func updateCheckRun(c *call) reply {
	cr := c.repo.checkRun(c.intParam("check_run_id"))
	if cr == nil {
		return c.notFound()
	}
	if cr.AppSlug != c.app() {
		return c.fail(http.StatusForbidden, fmt.Sprintf("Invalid app_id `%d` - check run can only be modified by the GitHub App that created it.", c.f.appIDFor(c.app())))
	}
	var b checkRunBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	if msg := b.limits(); msg != "" {
		return c.invalid(msg)
	}
	b.apply(cr)
	return okJSON(c.repo.checkRunJSON(cr))
}

// getCheckRun implements checks/get.
func getCheckRun(c *call) reply {
	cr := c.repo.checkRun(c.intParam("check_run_id"))
	if cr == nil {
		return c.notFound()
	}
	return okJSON(c.repo.checkRunJSON(cr))
}

// listCheckRunsForRef implements checks/list-for-ref.
func listCheckRunsForRef(c *call) reply {
	commit := c.repo.commit(c.params["ref"])
	if commit == nil {
		return c.invalid("No commit found for SHA: " + c.params["ref"])
	}
	return c.listCheckRuns(func(cr *CheckRun) bool { return cr.HeadSHA == commit.SHA })
}

// listCheckRunsForSuite implements checks/list-for-suite.
func listCheckRunsForSuite(c *call) reply {
	id := c.intParam("check_suite_id")
	known := false
	for _, suite := range c.repo.suites {
		known = known || suite == id
	}
	if !known {
		return c.notFound()
	}
	return c.listCheckRuns(func(cr *CheckRun) bool { return cr.CheckSuiteID == id })
}

// listCheckRuns answers a check run list with GitHub's filters: check_name, status,
// app_id and filter (latest, the default, keeps the newest run per name and app).
func (c *call) listCheckRuns(match func(*CheckRun) bool) reply {
	name, status := c.query.Get("check_name"), c.query.Get("status")
	var app int64
	if v := c.query.Get("app_id"); v != "" {
		app, _ = strconv.ParseInt(v, 10, 64)
	}
	latest := map[string]int64{}
	var runs []*CheckRun
	for _, cr := range c.repo.checkRuns {
		if !match(cr) || (name != "" && cr.Name != name) || (status != "" && cr.Status != status) ||
			(app != 0 && c.f.appIDFor(cr.AppSlug) != app) {
			continue
		}
		runs = append(runs, cr)
		key := cr.Name + "\x00" + cr.AppSlug
		latest[key] = max(latest[key], cr.ID)
	}
	if c.query.Get("filter") != "all" {
		kept := runs[:0]
		for _, cr := range runs {
			if latest[cr.Name+"\x00"+cr.AppSlug] == cr.ID {
				kept = append(kept, cr)
			}
		}
		runs = kept
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	lo, hi := c.page(len(runs))
	list := make([]any, 0, hi-lo)
	for _, cr := range runs[lo:hi] {
		list = append(list, c.repo.checkRunJSON(cr))
	}
	return okJSON(map[string]any{"total_count": len(runs), "check_runs": list})
}

func (r *Repo) checkRun(id int64) *CheckRun {
	for _, cr := range r.checkRuns {
		if cr.ID == id {
			return cr
		}
	}
	return nil
}

// checkRunJSON is GitHub's check-run object. Callers hold f.mu.
func (r *Repo) checkRunJSON(cr *CheckRun) map[string]any {
	url := r.apiURL("check-runs/%d", cr.ID)
	pulls := []any{}
	// GitHub lists the open pull requests of this repository whose head is the run's
	// commit; heads in forks are not included.
	for _, pr := range r.openPullsWithHead(cr.HeadSHA) {
		pulls = append(pulls, r.pullMinimalJSON(pr))
	}
	return map[string]any{
		"id":           cr.ID,
		"node_id":      nodeID("CheckRun", cr.ID),
		"head_sha":     cr.HeadSHA,
		"name":         cr.Name,
		"external_id":  cr.ExternalID,
		"url":          url,
		"html_url":     r.htmlURL("runs/%d", cr.ID),
		"details_url":  orNil(cr.DetailsURL),
		"status":       cr.Status,
		"conclusion":   orNil(cr.Conclusion),
		"started_at":   ts(cr.StartedAt),
		"completed_at": ts(cr.CompletedAt),
		"output": map[string]any{
			"title":             orNil(cr.Output.Title),
			"summary":           orNil(cr.Output.Summary),
			"text":              orNil(cr.Output.Text),
			"annotations_count": len(cr.Output.Annotations),
			"annotations_url":   url + "/annotations",
		},
		"check_suite":   map[string]any{"id": cr.CheckSuiteID},
		"app":           r.f.appJSON(cr.AppSlug),
		"pull_requests": pulls,
	}
}
