package githubfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// authKind is what credential an operation needs.
type authKind int

const (
	// authApp: the App's JWT (Authorization: Bearer <jwt>).
	authApp authKind = iota
	// authRepo: an installation token whose installation covers the {owner} of the path.
	authRepo
	// authOrg: an installation token whose installation covers the {org} of the path.
	authOrg
	// authUser: a user-to-server token (ghu_..., see oauth.go).
	authUser
	// authNone: no credentials (the manifest conversion).
	authNone
)

// token is an installation access token the fake issued.
type token struct {
	installation int64
	expires      time.Time
	// workflowRepo is set for a workflow's GITHUB_TOKEN: it reaches only that repository
	// ("owner/name", lower case) and acts as the github-actions App, not as Auger.
	workflowRepo string
}

// tokenLifetime is how long GitHub's installation tokens live.
const tokenLifetime = time.Hour

// jwtMaxLifetime is the longest exp GitHub accepts (ten minutes), plus the clock drift
// it tolerates.
const (
	jwtMaxLifetime = 10 * time.Minute
	jwtClockDrift  = time.Minute
)

// AddInstallation installs the App on an account (organization or user). Repositories
// of that owner are then reachable with the installation's tokens.
func (f *Fake) AddInstallation(id int64, owner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.installations[id] = owner
}

// installationFor returns the installation that covers owner, or 0.
func (f *Fake) installationFor(owner string) int64 {
	for id, o := range f.installations {
		if strings.EqualFold(o, owner) {
			return id
		}
	}
	return 0
}

// InstallationOfToken returns the installation an unexpired installation token was
// issued for, or 0. A git server in a test can use it to accept the tokens Auger
// pushes with (basic auth x-access-token:<token>), as GitHub does.
func (f *Fake) InstallationOfToken(tok string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[tok]
	if !ok || time.Now().After(t.expires) {
		return 0
	}
	return t.installation
}

// credentials splits an Authorization header ("token X", "Bearer X").
func credentials(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"token ", "bearer "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// tokenInstallation is the installation of the request's token, or 0. Callers hold f.mu.
func (f *Fake) tokenInstallation(r *http.Request) int64 {
	tok, ok := f.tokens[credentials(r)]
	if !ok || time.Now().After(tok.expires) {
		return 0
	}
	return tok.installation
}

// authorize checks c's credentials for an operation of the given kind, the way GitHub
// answers: 401 for missing or bad credentials, 404 for a repository the installation
// cannot see (GitHub does not reveal private repositories). Callers hold f.mu.
func (f *Fake) authorize(c *call, kind authKind) (reply, bool) {
	switch kind {
	case authNone:
		return reply{}, true
	case authUser:
		if f.userOf(c.r) == "" {
			return c.fail(http.StatusUnauthorized, "Bad credentials"), false
		}
		return reply{}, true
	}
	cred := credentials(c.r)
	if cred == "" {
		return c.fail(http.StatusUnauthorized, "Requires authentication"), false
	}
	if kind == authApp {
		if problem := f.jwtProblem(cred); problem != "" {
			return c.fail(http.StatusUnauthorized, problem), false
		}
		return reply{}, true
	}
	tok, ok := f.tokens[cred]
	if !ok || time.Now().After(tok.expires) {
		return c.fail(http.StatusUnauthorized, "Bad credentials"), false
	}
	if tok.workflowRepo != "" {
		return f.authorizeWorkflow(c, kind, tok.workflowRepo)
	}
	c.installation = tok.installation
	owner := c.params["owner"]
	if kind == authOrg {
		owner = c.params["org"]
	}
	if !strings.EqualFold(f.installations[tok.installation], owner) {
		return c.notFound(), false
	}
	if kind == authRepo {
		c.repo = f.repos[strings.ToLower(owner+"/"+c.params["repo"])]
		if c.repo == nil {
			return c.notFound(), false
		}
	}
	return reply{}, true
}

// WorkflowToken issues the GITHUB_TOKEN a GitHub Actions run of owner/name gets: it reaches
// that repository only, and what it creates (check runs) belongs to the github-actions
// App, as on GitHub, so Auger sees a CI job's upload as someone else's check run.
func (f *Fake) WorkflowToken(owner, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "ghs_workflow_" + rand.Text()
	f.tokens[tok] = token{workflowRepo: strings.ToLower(owner + "/" + name), expires: time.Now().Add(tokenLifetime)}
	return tok
}

// authorizeWorkflow lets a workflow token act on its own repository only. Callers hold f.mu.
func (f *Fake) authorizeWorkflow(c *call, kind authKind, repo string) (reply, bool) {
	if kind != authRepo || strings.ToLower(c.params["owner"]+"/"+c.params["repo"]) != repo {
		return c.notFound(), false
	}
	c.repo = f.repos[repo]
	if c.repo == nil {
		return c.notFound(), false
	}
	c.actor = workflowAppSlug
	return reply{}, true
}

// jwtProblem checks an App JWT as GitHub does: RS256 signed by the App's key, iss the
// App id (a string, as ghinstallation sends it, or a number), iat not in the future and
// exp at most ten minutes ahead. It returns GitHub's message for the first problem, or
// "" for a valid JWT.
func (f *Fake) jwtProblem(s string) string {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil }); err != nil {
		return "A JSON web token could not be decoded"
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.Itoa(appID) {
		return "'Issuer' claim ('iss') must be an Integer"
	}
	iat, iatOK := numericClaim(claims["iat"])
	exp, expOK := numericClaim(claims["exp"])
	t := time.Now()
	if !iatOK || iat.After(t.Add(jwtClockDrift)) {
		return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
	}
	if !expOK || !exp.After(t) || exp.After(t.Add(jwtMaxLifetime+jwtClockDrift)) || !exp.After(iat) {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	return ""
}

func numericClaim(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	secs, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(secs), 0), true
}

// newToken returns a random token in GitHub's installation token format.
func newToken() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 36)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ghs_" + string(b)
}

// appPermissions are the permissions Auger's App manifest asks for.
var appPermissions = map[string]any{
	"checks":        "write",
	"contents":      "write",
	"deployments":   "write",
	"issues":        "write",
	"metadata":      "read",
	"members":       "read",
	"pull_requests": "write",
}

// appEvents are the webhook events Auger's App subscribes to.
var appEvents = []any{"check_run", "check_suite", "delete", "issue_comment", "pull_request", "push"}

// createInstallationToken implements apps/create-installation-access-token. The body's
// repositories and permissions (narrowing the token) are accepted but not enforced.
func createInstallationToken(c *call) reply {
	id := c.intParam("installation_id")
	if _, ok := c.f.installations[id]; !ok {
		return c.notFound()
	}
	tok := newToken()
	expires := now().Add(tokenLifetime)
	c.f.tokens[tok] = token{installation: id, expires: expires}
	return created(map[string]any{
		"token":                tok,
		"expires_at":           ts(expires),
		"permissions":          appPermissions,
		"repository_selection": "all",
	})
}

// getAuthenticatedApp implements apps/get-authenticated.
func getAuthenticatedApp(c *call) reply {
	return okJSON(c.f.appJSON(appSlug))
}

// getRepoInstallation implements apps/get-repo-installation.
func getRepoInstallation(c *call) reply {
	repo := c.f.repos[strings.ToLower(c.params["owner"]+"/"+c.params["repo"])]
	if repo == nil {
		return c.notFound()
	}
	id := c.f.installationFor(repo.Owner)
	if id == 0 {
		return c.notFound()
	}
	return okJSON(c.f.installationJSON(id))
}

// installationJSON is GitHub's installation object.
func (f *Fake) installationJSON(id int64) map[string]any {
	owner := f.installations[id]
	account := f.userJSON(owner)
	account["type"] = "Organization"
	return map[string]any{
		"id":                   id,
		"account":              account,
		"app_id":               appID,
		"app_slug":             appSlug,
		"client_id":            "Iv1.fakeauger",
		"target_id":            f.userID(owner),
		"target_type":          "Organization",
		"access_tokens_url":    fmt.Sprintf("%sapp/installations/%d/access_tokens", f.URL, id),
		"repositories_url":     f.URL + "installation/repositories",
		"html_url":             fmt.Sprintf("https://github.com/organizations/%s/settings/installations/%d", owner, id),
		"events":               appEvents,
		"permissions":          appPermissions,
		"created_at":           ts(epoch),
		"updated_at":           ts(epoch),
		"single_file_name":     nil,
		"repository_selection": "all",
		"suspended_by":         nil,
		"suspended_at":         nil,
	}
}

// appJSON is GitHub's integration object for the App with this slug: Auger itself, or
// one of the CI apps whose check runs tests add.
func (f *Fake) appJSON(slug string) map[string]any {
	id := f.appIDFor(slug)
	return map[string]any{
		"id":           id,
		"slug":         slug,
		"client_id":    "Iv1.fake" + slug,
		"node_id":      nodeID("Integration", id),
		"owner":        f.userJSON(slug + "-owner"),
		"name":         slug,
		"description":  nil,
		"external_url": "https://example.com/" + slug,
		"html_url":     "https://github.com/apps/" + slug,
		"created_at":   ts(epoch),
		"updated_at":   ts(epoch),
		"permissions":  appPermissions,
		"events":       appEvents,
	}
}

// appIDFor returns the id of the App with this slug, assigning one to a new CI app.
func (f *Fake) appIDFor(slug string) int64 {
	if slug == appSlug {
		return appID
	}
	id, ok := f.apps[slug]
	if !ok {
		id = f.newID()
		f.apps[slug] = id
	}
	return id
}

// epoch is when everything in the fake was created, as far as GitHub objects say.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
