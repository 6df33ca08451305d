package dashboard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// Signing in is GitHub's web flow for a GitHub App: the person is sent to GitHub with a
// random state (kept in a short-lived encrypted cookie), comes back with a code, and
// Auger trades the code for a user-to-server token, which can read only what both the
// person and the App reach. The token goes into the session cookie, encrypted; it is
// never shown, logged or sent anywhere but GitHub.

// oauthConfig is the App's OAuth client, with the callback on this request's host.
func (d *Dashboard) oauthConfig(r *http.Request) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     d.cfg.ClientID,
		ClientSecret: d.cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   d.cfg.WebURL + "login/oauth/authorize",
			TokenURL:  d.cfg.WebURL + "login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: d.publicURL(r) + "/auth/callback",
	}
}

// publicURL is where people reach Auger.
func (d *Dashboard) publicURL(r *http.Request) string {
	if d.cfg.PublicURL != "" {
		return strings.TrimSuffix(d.cfg.PublicURL, "/")
	}
	scheme := "https"
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			scheme = "http"
		}
	}
	return scheme + "://" + r.Host
}

// secure tells whether people reach Auger over https: its cookies are Secure then.
func (d *Dashboard) secure(r *http.Request) bool {
	return strings.HasPrefix(d.publicURL(r), "https://")
}

// safeNext keeps a post-sign-in destination on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// signIn sends the person to GitHub's sign-in page.
func (d *Dashboard) signIn(w http.ResponseWriter, r *http.Request) {
	st := signIn{State: randomID(16), Next: safeNext(r.URL.Query().Get("next"))}
	if err := d.cookies.writeSignIn(w, st, d.secure(r)); err != nil {
		d.problem(w, r, http.StatusInternalServerError, "Sign-in failed", "Auger could not start the sign-in.")
		return
	}
	http.Redirect(w, r, d.oauthConfig(r).AuthCodeURL(st.State), http.StatusFound)
}

// callback finishes the sign-in: the state must be the one this browser was given.
func (d *Dashboard) callback(w http.ResponseWriter, r *http.Request) {
	st, err := d.cookies.readSignIn(r)
	if err != nil {
		d.problem(w, r, http.StatusBadRequest, "Sign-in failed", err.Error()+".")
		return
	}
	d.cookies.clear(w, signInCookie, d.secure(r))
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		d.problem(w, r, http.StatusForbidden, "Sign-in refused", "GitHub said: "+q.Get("error_description")+" ("+e+").")
		return
	}
	if q.Get("state") == "" || q.Get("state") != st.State || q.Get("code") == "" {
		d.problem(w, r, http.StatusBadRequest, "Sign-in failed", "This sign-in was not started in this browser. Sign in again.")
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, d.cfg.HTTPClient)
	tok, err := d.oauthConfig(r).Exchange(ctx, q.Get("code"))
	if err != nil {
		d.cfg.Log.Warn().Str("error", redactOAuthError(err)).Msg("dashboard sign-in: GitHub refused the code")
		d.problem(w, r, http.StatusBadGateway, "Sign-in failed", "GitHub did not accept the sign-in code; sign in again.")
		return
	}
	login, err := d.cfg.UserGitHub(tok.AccessToken).SignedInUser(r.Context())
	if err != nil {
		d.cfg.Log.Warn().Err(err).Msg("dashboard sign-in: could not read the signed-in user")
		d.problem(w, r, http.StatusBadGateway, "Sign-in failed", "GitHub did not say who signed in; try again.")
		return
	}
	expires := d.cfg.Now().Add(SessionLifetime)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		expires = tok.Expiry
	}
	if err := d.cookies.write(w, &session{Login: login, Token: tok.AccessToken, Expires: expires, CSRF: randomID(32)}, d.secure(r)); err != nil {
		d.problem(w, r, http.StatusInternalServerError, "Sign-in failed", "Auger could not write the session.")
		return
	}
	d.cfg.Log.Info().Str("login", login).Msg("dashboard: signed in")
	http.Redirect(w, r, st.Next, http.StatusFound)
}

// redactOAuthError keeps GitHub's error code and drops everything else (the response
// body could echo what was sent).
func redactOAuthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode
	}
	return "token request failed"
}

// signOut forgets the session (a form with the CSRF token, so no other site can sign
// a person out).
func (d *Dashboard) signOut(w http.ResponseWriter, r *http.Request) {
	if s := d.cookies.read(r); s != nil && !validCSRF(s, r.PostFormValue("csrf")) {
		d.problem(w, r, http.StatusForbidden, "Refused", "The form did not carry this session's token.")
		return
	}
	d.cookies.clear(w, sessionCookie, d.secure(r))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signedIn returns the session, or answers with the sign-in page and nil.
func (d *Dashboard) signedIn(w http.ResponseWriter, r *http.Request) *session {
	if s := d.cookies.read(r); s != nil {
		return s
	}
	if r.URL.Query().Get("fragment") != "" {
		http.Error(w, "signed out", http.StatusUnauthorized)
		return nil
	}
	d.render(w, r, http.StatusOK, "signin", map[string]any{"Next": r.URL.RequestURI()})
	return nil
}
