package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// webhookFS holds payload examples from @octokit/webhooks-examples, one file per
// event and action (scripts/vendor-github/vendor.sh writes them).
//
//go:embed testdata/webhooks/*.json
var webhookFS embed.FS

// hookID is the id of the App's webhook, sent as X-GitHub-Hook-ID.
const hookID = 424242

// deliveryTimeout bounds one webhook delivery, like GitHub's ten seconds, with room
// for slow test machines.
const deliveryTimeout = 30 * time.Second

// Payload returns a fresh copy of the vendored example payload for event and action,
// adapted to what GitHub sends today (fields the older examples lack) and to a
// delivery to an App (installation present). For push, action picks the variant:
// "" or "branch" (a push creating a branch), "tag", or "deleted" (a branch deletion);
// for delete, "" or "branch" deletes branch "feature" and "tag" a tag. Point it at a
// fake repository with Repo.Retarget.
func Payload(t testing.TB, event, action string) map[string]any {
	t.Helper()
	file, variant := event, action
	switch event {
	case "push":
		if variant == "" {
			variant = "branch"
		}
		file += "." + variant
	case "delete":
		if variant == "" {
			variant = "branch"
		}
	default:
		if action != "" {
			file += "." + action
		}
	}
	data, err := webhookFS.ReadFile("testdata/webhooks/" + file + ".json")
	if err != nil {
		t.Fatalf("githubfake: no vendored %s payload with action %q: %v", event, action, err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("githubfake: parse vendored %s payload: %v", file, err)
	}
	adaptPayload(event, variant, p)
	return p
}

// adaptPayload fills in what @octokit/webhooks-examples' payloads lack compared with
// GitHub's webhook schemas in @octokit/openapi (measured when vendoring), and turns
// the tag deletions into the branch deletions the package has no example of.
func adaptPayload(event, variant string, p map[string]any) {
	// Deliveries to an App always say which installation they are for.
	if _, ok := p["installation"]; !ok {
		p["installation"] = map[string]any{"id": 1, "node_id": nodeID("Installation", 1)}
	}
	repos := []map[string]any{obj(p, "repository"), obj(p, "pull_request", "head", "repo"), obj(p, "pull_request", "base", "repo")}
	for _, repo := range repos {
		if repo == nil {
			continue
		}
		setDefault(repo, "has_discussions", false)
		setDefault(repo, "topics", []any{})
		visibility := "public"
		if private, _ := repo["private"].(bool); private {
			visibility = "private"
		}
		setDefault(repo, "visibility", visibility)
	}
	switch event {
	case "installation":
		inst := obj(p, "installation")
		inst["app_id"], inst["app_slug"] = float64(appID), appSlug
		for _, k := range []string{"created_at", "updated_at"} {
			if secs, ok := inst[k].(float64); ok {
				inst[k] = time.Unix(int64(secs), 0).UTC().Format(time.RFC3339)
			}
		}
	case "issue_comment":
		if comment := obj(p, "comment"); comment != nil {
			setDefault(comment, "performed_via_github_app", nil)
			setDefault(comment, "reactions", emptyRollup(comment["url"]))
		}
		if issue := obj(p, "issue"); issue != nil {
			setDefault(issue, "active_lock_reason", nil)
			setDefault(issue, "reactions", emptyRollup(issue["url"]))
			labels, _ := issue["labels"].([]any)
			for _, l := range labels {
				if label, ok := l.(map[string]any); ok {
					setDefault(label, "description", nil)
				}
			}
		}
	case "check_run":
		// GitHub sends requested_action only to the App that owns the check run.
		if app := obj(p, "check_run", "app"); app != nil && variant == "requested_action" {
			app["id"], app["slug"], app["name"] = float64(appID), appSlug, appSlug
		}
	case "pull_request":
		if pr := obj(p, "pull_request"); pr != nil {
			setDefault(pr, "auto_merge", nil)
		}
	case "push":
		if variant == "deleted" {
			p["ref"], p["base_ref"] = "refs/heads/feature", nil
		}
	case "delete":
		if variant == "branch" {
			p["ref"], p["ref_type"] = "feature", "branch"
		}
	}
}

// obj walks nested objects of a payload; nil when a step is missing.
func obj(p map[string]any, path ...string) map[string]any {
	cur := p
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func setDefault(m map[string]any, key string, value any) {
	if _, ok := m[key]; !ok {
		m[key] = value
	}
}

func emptyRollup(url any) map[string]any {
	m := map[string]any{"url": fmt.Sprint(url) + "/reactions", "total_count": 0}
	for _, c := range reactionContents {
		m[c] = 0
	}
	return m
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body: "sha256=" and the
// hex HMAC-SHA256 of the body keyed with the webhook secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// signSHA1 is the legacy X-Hub-Signature GitHub still sends.
func signSHA1(body []byte, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// delivery is one webhook delivery, kept for apps/list-webhook-deliveries and
// redelivery.
type delivery struct {
	id           int64
	guid         string
	event        string
	action       string
	installation int64
	repository   int64
	deliveredAt  time.Time
	duration     time.Duration
	statusCode   int
	redelivery   bool
	hookURL      string
	secret       string
	body         []byte
}

// Deliver posts a webhook to hookURL the way GitHub does: payload as JSON (a []byte or
// json.RawMessage is sent as is), signed with secret in X-Hub-Signature-256 and
// X-Hub-Signature, with GitHub's X-GitHub-* headers. deliveryID is the
// X-GitHub-Delivery GUID (a fresh one when empty). The response's body is read
// already and can be read again; the delivery shows in the App's delivery list.
func (f *Fake) Deliver(t testing.TB, hookURL, secret, event, deliveryID string, payload any) *http.Response {
	t.Helper()
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	case json.RawMessage:
		body = p
	default:
		var err error
		if body, err = json.Marshal(payload); err != nil {
			t.Fatalf("githubfake: marshal %s payload: %v", event, err)
		}
	}
	if deliveryID == "" {
		deliveryID = uuid.NewString()
	}
	var meta struct {
		Action       string `json:"action"`
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	_ = json.Unmarshal(body, &meta) // a payload that is not an object still gets delivered
	d := &delivery{guid: deliveryID, event: event, action: meta.Action, installation: meta.Installation.ID,
		repository: meta.Repository.ID, hookURL: hookURL, secret: secret, body: body}
	res, err := f.send(d)
	if err != nil {
		t.Fatalf("githubfake: deliver %s to %s: %v", event, hookURL, err)
	}
	return res
}

// send posts a delivery and records it. It must be called without f.mu held: the
// receiver may call the fake back.
func (f *Fake) send(d *delivery) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hookURL, bytes.NewReader(d.body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/faa6a7e")
	h.Set("X-GitHub-Event", d.event)
	h.Set("X-GitHub-Delivery", d.guid)
	h.Set("X-GitHub-Hook-ID", strconv.Itoa(hookID))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.Itoa(appID))
	h.Set("X-Hub-Signature", signSHA1(d.body, d.secret))
	h.Set("X-Hub-Signature-256", Sign(d.body, d.secret))
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	d.duration = time.Since(start)
	d.deliveredAt = now()
	d.statusCode = res.StatusCode

	f.mu.Lock()
	defer f.mu.Unlock()
	d.id = f.newID()
	f.deliveries = append(f.deliveries, d)
	return res, nil
}

// listDeliveries implements apps/list-webhook-deliveries, newest first, paged by an
// opaque cursor like GitHub's.
func listDeliveries(c *call) reply {
	status := c.query.Get("status")
	var list []*delivery
	for i := len(c.f.deliveries) - 1; i >= 0; i-- {
		d := c.f.deliveries[i]
		success := d.statusCode >= 200 && d.statusCode < 300
		if (status == "success" && !success) || (status == "failure" && success) {
			continue
		}
		list = append(list, d)
	}
	perPage := min(max(queryInt(c.query, "per_page", 30), 1), 100)
	start := 0
	if cur := c.query.Get("cursor"); cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "v1_"))
		if err != nil || n < 0 {
			return c.invalid("Validation Failed", fieldError{Field: "cursor", Code: "invalid"})
		}
		start = min(n, len(list))
	}
	end := min(start+perPage, len(list))
	if end < len(list) {
		q := c.r.URL.Query()
		q.Set("cursor", "v1_"+strconv.Itoa(end))
		q.Set("per_page", strconv.Itoa(perPage))
		c.header.Set("Link", fmt.Sprintf("<http://%s%s?%s>; rel=\"next\"", c.r.Host, c.r.URL.Path, q.Encode()))
	}
	out := []any{}
	for _, d := range list[start:end] {
		out = append(out, deliveryJSON(d))
	}
	return okJSON(out)
}

func deliveryJSON(d *delivery) map[string]any {
	status := "OK"
	if d.statusCode < 200 || d.statusCode >= 300 {
		status = fmt.Sprintf("Invalid HTTP Response: %d", d.statusCode)
	}
	return map[string]any{
		"id":              d.id,
		"guid":            d.guid,
		"delivered_at":    ts(d.deliveredAt),
		"redelivery":      d.redelivery,
		"duration":        d.duration.Seconds(),
		"status":          status,
		"status_code":     d.statusCode,
		"event":           d.event,
		"action":          orNil(d.action),
		"installation_id": nullableID(d.installation),
		"repository_id":   nullableID(d.repository),
	}
}

func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// redeliver implements apps/redeliver-webhook-delivery. GitHub redelivers
// asynchronously; the fake does it before answering 202, so a test sees the result as
// soon as the call returns.
func redeliver(c *call) reply {
	id := c.intParam("delivery_id")
	var orig *delivery
	for _, d := range c.f.deliveries {
		if d.id == id {
			orig = d
		}
	}
	if orig == nil {
		return c.notFound()
	}
	again := *orig
	again.redelivery = true
	return reply{status: http.StatusAccepted, body: map[string]any{}, after: func() {
		if _, err := c.f.send(&again); err != nil {
			c.f.t.Errorf("githubfake: redeliver %s: %v", again.guid, err)
		}
	}}
}
