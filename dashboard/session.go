package dashboard

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// Cookie names. The session is signed and encrypted (securecookie: HMAC-SHA256 and
// AES-256), so it carries the person's GitHub token without a server-side store: every
// replica that shares the App's client secret reads every replica's cookies.
const (
	sessionCookie = "auger_session"
	signInCookie  = "auger_signin"
)

// SessionLifetime is how long a sign-in lasts: GitHub's user-to-server tokens expire
// after eight hours, and the session with them.
const SessionLifetime = 8 * time.Hour

// signInLifetime bounds the round trip through GitHub's sign-in page.
const signInLifetime = 10 * time.Minute

// session is who is signed in, with what, until when.
type session struct {
	Login string
	// Token is the person's user-to-server token: what they can read is asked with it.
	Token   string
	Expires time.Time
	// CSRF is the token every form of this session carries.
	CSRF string
}

// signIn is the state of a sign-in on its way through GitHub.
type signIn struct {
	State string
	Next  string
}

// cookies encodes and decodes the dashboard's cookies.
type cookies struct {
	session *securecookie.SecureCookie
	signIn  *securecookie.SecureCookie
	now     func() time.Time
}

// newCookies derives the cookie keys from the App's client secret (HKDF-SHA256), so
// replicas agree on them with no key of their own to distribute, and rotating the
// client secret signs everyone out.
func newCookies(clientSecret string, now func() time.Time) (*cookies, error) {
	key := func(purpose string, n int) ([]byte, error) {
		return hkdf.Key(sha256.New, []byte(clientSecret), nil, "auger dashboard "+purpose, n)
	}
	hashKey, err := key("cookie signature", 32)
	if err != nil {
		return nil, err
	}
	blockKey, err := key("cookie encryption", 32)
	if err != nil {
		return nil, err
	}
	c := &cookies{now: now}
	c.session = securecookie.New(hashKey, blockKey).MaxAge(int(SessionLifetime.Seconds()))
	c.signIn = securecookie.New(hashKey, blockKey).MaxAge(int(signInLifetime.Seconds()))
	c.session.SetSerializer(securecookie.JSONEncoder{})
	c.signIn.SetSerializer(securecookie.JSONEncoder{})
	return c, nil
}

// read returns the request's session, or nil when there is none or it expired.
func (c *cookies) read(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var s session
	if err := c.session.Decode(sessionCookie, ck.Value, &s); err != nil {
		return nil
	}
	if s.Login == "" || s.Token == "" || len(s.CSRF) < 32 || !c.now().Before(s.Expires) {
		return nil
	}
	return &s
}

// write sets the session cookie (Secure when Auger is reached over https).
func (c *cookies) write(w http.ResponseWriter, s *session, secure bool) error {
	v, err := c.session.Encode(sessionCookie, s)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", Expires: s.Expires, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (c *cookies) clear(w http.ResponseWriter, name string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func (c *cookies) writeSignIn(w http.ResponseWriter, s signIn, secure bool) error {
	v, err := c.signIn.Encode(signInCookie, s)
	if err != nil {
		return err
	}
	// Lax: the cookie must come back on GitHub's redirect, a top-level navigation.
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: v, Path: "/", MaxAge: int(signInLifetime.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (c *cookies) readSignIn(r *http.Request) (signIn, error) {
	var s signIn
	ck, err := r.Cookie(signInCookie)
	if err != nil {
		return s, errors.New("no sign-in in progress in this browser (cookies off, or it took longer than 10 minutes)")
	}
	if err := c.signIn.Decode(signInCookie, ck.Value, &s); err != nil {
		return s, errors.New("the sign-in expired; start again")
	}
	return s, nil
}

// randomID is n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// validCSRF compares a form's token with the session's in constant time.
func validCSRF(s *session, token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(s.CSRF), []byte(token)) == 1
}
