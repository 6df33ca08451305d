package githubfake

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// maxCommentBody is GitHub's limit on an issue comment.
const maxCommentBody = 65536

type commentBody struct {
	Body *string `json:"body"`
}

// check returns the comment text or GitHub's complaint about it.
func (b commentBody) check(c *call) (string, *reply) {
	if b.Body == nil || strings.TrimSpace(*b.Body) == "" {
		rep := c.invalid("Validation Failed", fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return "", &rep
	}
	if utf8.RuneCountInString(*b.Body) > maxCommentBody {
		rep := c.invalid("Validation Failed", fieldError{Resource: "IssueComment", Field: "data", Code: "custom",
			Message: fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentBody)})
		return "", &rep
	}
	return *b.Body, nil
}

// createComment implements issues/create-comment on a pull request (the fake's only
// issues).
func createComment(c *call) reply {
	number := int(c.intParam("issue_number"))
	if c.repo.pull(number) == nil {
		return c.notFound()
	}
	var b commentBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	text, rep := b.check(c)
	if rep != nil {
		return *rep
	}
	id := c.repo.addComment(number, botLogin, text)
	c.header.Set("Location", c.repo.apiURL("issues/comments/%d", id))
	return created(c.repo.commentJSON(c.repo.comment(id)))
}

// updateComment implements issues/update-comment.
func updateComment(c *call) reply {
	cm := c.repo.comment(c.intParam("comment_id"))
	if cm == nil {
		return c.notFound()
	}
	var b commentBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	text, rep := b.check(c)
	if rep != nil {
		return *rep
	}
	cm.Body = text
	cm.UpdatedAt = now()
	return okJSON(c.repo.commentJSON(cm))
}

// getComment implements issues/get-comment.
func getComment(c *call) reply {
	cm := c.repo.comment(c.intParam("comment_id"))
	if cm == nil {
		return c.notFound()
	}
	return okJSON(c.repo.commentJSON(cm))
}

// listComments implements issues/list-comments: oldest first, optionally only those
// updated at or after ?since=.
func listComments(c *call) reply {
	number := int(c.intParam("issue_number"))
	if c.repo.pull(number) == nil {
		return c.notFound()
	}
	var since time.Time
	if v := c.query.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c.invalid("Validation Failed", fieldError{Field: "since", Code: "invalid"})
		}
		since = t
	}
	var list []*Comment
	for _, cm := range c.repo.comments {
		if cm.Issue == number && !cm.UpdatedAt.Before(since) {
			list = append(list, cm)
		}
	}
	lo, hi := c.page(len(list))
	out := []any{}
	for _, cm := range list[lo:hi] {
		out = append(out, c.repo.commentJSON(cm))
	}
	return okJSON(out)
}

// commentJSON is GitHub's issue-comment object. Callers hold f.mu.
func (r *Repo) commentJSON(cm *Comment) map[string]any {
	m := map[string]any{
		"id":                 cm.ID,
		"node_id":            nodeID("IssueComment", cm.ID),
		"url":                r.apiURL("issues/comments/%d", cm.ID),
		"html_url":           r.htmlURL("pull/%d#issuecomment-%d", cm.Issue, cm.ID),
		"issue_url":          r.apiURL("issues/%d", cm.Issue),
		"body":               cm.Body,
		"user":               r.f.userJSON(cm.User),
		"created_at":         ts(cm.CreatedAt),
		"updated_at":         ts(cm.UpdatedAt),
		"author_association": r.association(cm.User),
		"reactions":          r.reactionRollup(cm.ID),
	}
	if cm.User == botLogin {
		m["performed_via_github_app"] = r.f.appJSON(appSlug)
	}
	return m
}

// association is GitHub's author_association of a login in this repository.
func (r *Repo) association(login string) string {
	switch {
	case strings.EqualFold(login, r.Owner):
		return "OWNER"
	case r.permissions[strings.ToLower(login)] != "" && r.permissions[strings.ToLower(login)] != "none":
		return "COLLABORATOR"
	}
	return "NONE"
}

// reactionContents are the reactions GitHub knows, in its rollup's order.
var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

func (r *Repo) reactionRollup(commentID int64) map[string]any {
	m := map[string]any{"url": r.apiURL("issues/comments/%d/reactions", commentID)}
	for _, content := range reactionContents {
		m[content] = 0
	}
	for _, re := range r.reactions[commentID] {
		m[re.content] = m[re.content].(int) + 1
	}
	m["total_count"] = len(r.reactions[commentID])
	return m
}

type reactionBody struct {
	Content string `json:"content"`
}

// createReaction implements reactions/create-for-issue-comment: 201 for a new
// reaction, 200 with the existing one when the App already reacted so.
func createReaction(c *call) reply {
	id := c.intParam("comment_id")
	if c.repo.comment(id) == nil {
		return c.notFound()
	}
	var b reactionBody
	if err := c.decode(&b); err != nil {
		return c.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	for _, re := range c.repo.reactions[id] {
		if re.user == botLogin && re.content == b.Content {
			return okJSON(c.f.reactionJSON(re))
		}
	}
	re := reaction{id: c.f.newID(), user: botLogin, content: b.Content, created: now()}
	c.repo.reactions[id] = append(c.repo.reactions[id], re)
	return created(c.f.reactionJSON(re))
}

func (f *Fake) reactionJSON(re reaction) map[string]any {
	return map[string]any{
		"id":         re.id,
		"node_id":    nodeID("Reaction", re.id),
		"user":       f.userJSON(re.user),
		"content":    re.content,
		"created_at": ts(re.created),
	}
}
