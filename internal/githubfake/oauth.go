package githubfake

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file is the fake's side of signing in to the dashboard and of setting the App up.
//
// GitHub's web flow for a GitHub App's user-to-server tokens: the browser goes to
// <web>/login/oauth/authorize?client_id=..&redirect_uri=..&state=.., the person signs in
// and GitHub redirects back with ?code=..&state=..; the server trades the code, with the
// App's client secret, at <web>/login/oauth/access_token for a token (ghu_..., eight
// hours) that acts as that person, limited to what both the person and the App may
// reach. The web pages are not part of GitHub's REST description, so they are served
// unchecked; the REST operations the token is used on (users/get-authenticated and the
// user's installations and their repositories) are checked like every other.
//
// The fake's sign-in page asks only for a login: the test (or the browser test's robot)
// says who signs in. A person reaches a repository when a test gave them a role on it
// (Repo.SetPermission), as GitHub lists a repository for a user-to-server token only when
// the person can read it.
//
// The manifest flow of the setup page: the browser posts the App's manifest to
// <web>/settings/apps/new?state=.. (or an organization's
// <web>/organizations/<org>/settings/apps/new); GitHub shows it, the person confirms,
// and GitHub redirects to the manifest's redirect_url with ?code=..&state=... The server
// converts the code with POST /app-manifests/{code}/conversions into the new App's id,
// private key, webhook secret and OAuth client. The fake confirms at once.

// ClientID is the App's OAuth client id; ClientSecret its client secret.
const (
	ClientID     = "Iv1.fakeauger"
	ClientSecret = "fake-oauth-client-secret-0123456789"
)

// userTokenLifetime is how long GitHub's user-to-server tokens live (with expiry on).
const userTokenLifetime = 8 * time.Hour

// oauthState is the fake's sign-in and setup state. Callers hold f.mu.
type oauthState struct {
	codes      map[string]oauthCode // authorization code → who signed in, for where
	userTokens map[string]userToken
	manifests  map[string]map[string]any // manifest code → the manifest posted
	// created are the Apps the manifest flow created, by their code.
	created map[string]bool
}

type oauthCode struct {
	login, redirect string
	expires         time.Time
}

type userToken struct {
	login   string
	expires time.Time
}

func (f *Fake) oauth() *oauthState {
	if f.web == nil {
		f.web = &oauthState{codes: map[string]oauthCode{}, userTokens: map[string]userToken{}, manifests: map[string]map[string]any{}, created: map[string]bool{}}
	}
	return f.web
}

// webPath tells whether a path is one of GitHub's web pages the fake serves.
func webPath(p string) bool {
	return strings.HasPrefix(p, "/login/oauth/") || strings.HasSuffix(p, "/settings/apps/new")
}

// serveWeb serves the web pages of sign-in and App creation.
func (f *Fake) serveWeb(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/login/oauth/authorize":
		f.authorizePage(w, r)
	case r.URL.Path == "/login/oauth/access_token" && r.Method == http.MethodPost:
		f.accessToken(w, r)
	case strings.HasSuffix(r.URL.Path, "/settings/apps/new"):
		f.newAppPage(w, r)
	default:
		http.NotFound(w, r)
	}
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html><head><title>Sign in to GitHub</title></head><body>
<h1>Sign in to GitHub to continue to {{.App}}</h1>
<form method="post" action="/login/oauth/authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}">
<label>Username <input id="login" name="login" autofocus></label>
<button id="authorize" type="submit">Authorize</button>
</form></body></html>`))

// authorizePage is GitHub's sign-in and authorization page: GET shows it, POST signs the
// login in and redirects back with a code.
func (f *Fake) authorizePage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	clientID, redirect, state := r.Form.Get("client_id"), r.Form.Get("redirect_uri"), r.Form.Get("state")
	if clientID != ClientID {
		f.t.Errorf("githubfake: sign-in with client_id %q, not the App's %q", clientID, ClientID)
		http.Error(w, "The client_id is not valid", http.StatusNotFound)
		return
	}
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		http.Error(w, "The redirect_uri is not valid", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signInPage.Execute(w, map[string]string{"App": appSlug, "ClientID": clientID, "Redirect": redirect, "State": state})
		return
	}
	login := strings.TrimSpace(r.Form.Get("login"))
	if login == "" {
		http.Error(w, "Incorrect username or password.", http.StatusUnauthorized)
		return
	}
	code := strings.TrimPrefix(newToken(), "ghs_")[:20]
	f.mu.Lock()
	f.oauth().codes[code] = oauthCode{login: login, redirect: redirect, expires: time.Now().Add(10 * time.Minute)}
	f.mu.Unlock()
	q := u.Query()
	q.Set("code", code)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// accessToken trades a code for a user-to-server token, as GitHub does: the App's
// client id and secret, a code used once within ten minutes, the same redirect_uri when
// one is sent. Errors are answered 200 with an error field, as GitHub answers them.
func (f *Fake) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		writeJSON(w, http.StatusOK, nil, map[string]any{"error": code, "error_description": desc})
	}
	id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != ClientID || secret != ClientSecret {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	// The answer is written with the lock released: the fake records it under the lock.
	f.mu.Lock()
	st := f.oauth()
	code, ok := st.codes[r.Form.Get("code")]
	delete(st.codes, r.Form.Get("code"))
	tok := "ghu_" + strings.TrimPrefix(newToken(), "ghs_")
	failure := ""
	switch {
	case !ok || time.Now().After(code.expires):
		failure = "bad_verification_code"
	case r.Form.Get("redirect_uri") != "" && r.Form.Get("redirect_uri") != code.redirect:
		failure = "redirect_uri_mismatch"
	default:
		st.userTokens[tok] = userToken{login: code.login, expires: time.Now().Add(userTokenLifetime)}
	}
	f.mu.Unlock()
	switch failure {
	case "bad_verification_code":
		fail(failure, "The code passed is incorrect or expired.")
		return
	case "redirect_uri_mismatch":
		fail(failure, "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	writeJSON(w, http.StatusOK, nil, map[string]any{
		"access_token": tok, "token_type": "bearer", "scope": "",
		"expires_in": int(userTokenLifetime.Seconds()), "refresh_token": "ghr_" + strings.TrimPrefix(newToken(), "ghs_"),
		"refresh_token_expires_in": 15811200,
	})
}

// userOf is the login a user-to-server token acts as, or "". Callers hold f.mu.
func (f *Fake) userOf(r *http.Request) string {
	tok, ok := f.oauth().userTokens[credentials(r)]
	if !ok || time.Now().After(tok.expires) {
		return ""
	}
	return tok.login
}

// RevokeUserTokens revokes every user-to-server token of login, as a person revoking the
// App's authorization in their settings does: GitHub answers 401 to them from then on.
func (f *Fake) RevokeUserTokens(login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tok, u := range f.oauth().userTokens {
		if u.login == login {
			delete(f.oauth().userTokens, tok)
		}
	}
}

// UserTokens counts the user-to-server tokens issued so far.
func (f *Fake) UserTokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.oauth().userTokens)
}

// readable are the repositories of installation id (every installation when id is 0)
// that login has a role on. Callers hold f.mu.
func (f *Fake) readable(login string, id int64) []*Repo {
	var out []*Repo
	for _, r := range f.repos {
		inst := f.installationFor(r.Owner)
		role := r.permissions[strings.ToLower(login)]
		if inst == 0 || (id != 0 && inst != id) || role == "" || role == "none" {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

// getAuthenticatedUser implements users/get-authenticated for a user-to-server token.
func getAuthenticatedUser(c *call) reply {
	login := c.f.userOf(c.r)
	m := c.f.userJSON(login)
	for k, v := range map[string]any{"bio": nil, "blog": "", "company": nil, "email": nil, "followers": 0, "following": 0,
		"hireable": nil, "location": nil, "name": login, "public_gists": 0, "public_repos": 0, "created_at": ts(epoch), "updated_at": ts(epoch)} {
		m[k] = v
	}
	return okJSON(m)
}

// listUserInstallations implements apps/list-installations-for-authenticated-user: the
// App's installations where the person can read at least one repository.
func listUserInstallations(c *call) reply {
	var ids []int64
	for _, r := range c.f.readable(c.f.userOf(c.r), 0) {
		if id := c.f.installationFor(r.Owner); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	lo, hi := c.page(len(ids))
	list := []any{}
	for _, id := range ids[lo:hi] {
		list = append(list, c.f.installationJSON(id))
	}
	return okJSON(map[string]any{"total_count": len(ids), "installations": list})
}

// listUserInstallationRepos implements apps/list-installation-repos-for-authenticated-user.
func listUserInstallationRepos(c *call) reply {
	id := c.intParam("installation_id")
	if _, ok := c.f.installations[id]; !ok {
		return c.notFound()
	}
	login := c.f.userOf(c.r)
	repos := c.f.readable(login, id)
	lo, hi := c.page(len(repos))
	list := []any{}
	for _, r := range repos[lo:hi] {
		m := r.repoJSON(r.Owner, false)
		role := r.permissions[strings.ToLower(login)]
		m["permissions"] = map[string]any{"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
			"push": role == "admin" || role == "maintain" || role == "write", "triage": role != "read", "pull": true}
		list = append(list, m)
	}
	return okJSON(map[string]any{"total_count": len(repos), "repository_selection": "all", "repositories": list})
}

// listCommits implements repos/list-commits: the commits reachable from ?sha= (default
// the default branch) by first parents, newest first.
func listCommits(c *call) reply {
	ref := c.query.Get("sha")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	commit := c.repo.commit(ref)
	if commit == nil {
		return c.notFound()
	}
	var chain []*Commit
	for seen := map[string]bool{}; commit != nil && !seen[commit.SHA]; {
		seen[commit.SHA] = true
		chain = append(chain, commit)
		if len(commit.Parents) == 0 {
			break
		}
		commit = c.repo.commits[commit.Parents[0]]
	}
	lo, hi := c.page(len(chain))
	list := []any{}
	for _, cm := range chain[lo:hi] {
		list = append(list, c.repo.commitSummaryJSON(cm))
	}
	return okJSON(list)
}

// newAppPage is GitHub's "Create GitHub App from manifest" page, confirmed at once: it
// checks the manifest as GitHub does and redirects to its redirect_url with a code.
func (f *Fake) newAppPage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var manifest map[string]any
	if err := json.Unmarshal([]byte(r.Form.Get("manifest")), &manifest); err != nil {
		http.Error(w, "Invalid GitHub App configuration: the manifest is not JSON", http.StatusUnprocessableEntity)
		return
	}
	hook, _ := manifest["hook_attributes"].(map[string]any)
	redirect, _ := manifest["redirect_url"].(string)
	for field, ok := range map[string]bool{"url": manifest["url"] != nil, "hook_attributes.url": hook != nil && hook["url"] != nil, "redirect_url": redirect != ""} {
		if !ok {
			http.Error(w, "Invalid GitHub App configuration: "+field+" is required", http.StatusUnprocessableEntity)
			return
		}
	}
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		http.Error(w, "Invalid GitHub App configuration: redirect_url is not a URL", http.StatusUnprocessableEntity)
		return
	}
	code := strings.TrimPrefix(newToken(), "ghs_")[:20]
	f.mu.Lock()
	f.oauth().manifests[code] = manifest
	f.mu.Unlock()
	q := u.Query()
	q.Set("code", code)
	q.Set("state", r.URL.Query().Get("state"))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// Manifest returns the manifest posted for a code, nil for none: what the setup page
// sent to GitHub.
func (f *Fake) Manifest(code string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oauth().manifests[code]
}

// createFromManifest implements apps/create-from-manifest: a code converts once, within
// an hour, into the App's credentials. The fake answers with its own App (id 1, its key
// and OAuth client), so that Auger, restarted with them, talks to the fake as usual.
func createFromManifest(c *call) reply {
	st := c.f.oauth()
	code := c.params["code"]
	manifest, ok := st.manifests[code]
	if !ok || st.created[code] {
		return c.notFound()
	}
	st.created[code] = true
	m := c.f.appJSON(appSlug)
	if name, ok := manifest["name"].(string); ok && name != "" {
		m["name"] = name
	}
	m["client_id"] = ClientID
	m["client_secret"] = ClientSecret
	m["webhook_secret"] = "whsec-" + code
	m["pem"] = string(c.f.keyPEM)
	return created(m)
}
