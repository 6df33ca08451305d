package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSessionCookie(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, err := newCookies("client-secret", clock)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s := &session{Login: "jane", Token: "ghu_secret", Expires: now.Add(time.Hour), CSRF: strings.Repeat("a", 64)}
	if err := c.write(rec, s, true); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || strings.Contains(cookie.Value, "ghu_secret") || strings.Contains(cookie.Value, "jane") {
		t.Errorf("cookie %+v", cookie)
	}
	read := func(value string) *session {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		return c.read(r)
	}
	if got := read(cookie.Value); got == nil || got.Login != "jane" || got.Token != "ghu_secret" {
		t.Errorf("round trip: %+v", got)
	}
	// Another replica, with the same client secret, reads it; another secret does not.
	other, _ := newCookies("client-secret", clock)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	if other.read(r) == nil {
		t.Error("a replica with the same secret cannot read the session")
	}
	rotated, _ := newCookies("rotated-secret", clock)
	if rotated.read(r) != nil {
		t.Error("a rotated secret still reads old sessions")
	}
	tampered := []byte(cookie.Value)
	tampered[len(tampered)/2] ^= 1
	if read(string(tampered)) != nil {
		t.Error("a tampered cookie was read")
	}
	now = now.Add(2 * time.Hour)
	if read(cookie.Value) != nil {
		t.Error("an expired session was read")
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{"/app/staging/web": "/app/staging/web", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/", "": "/"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestFormID(t *testing.T) {
	s := &session{CSRF: strings.Repeat("b", 64)}
	a := formID(s, "tip1", "/deploy staging web", "sha")
	if a != formID(s, "tip1", "/deploy staging web", "sha") || len(a) != 16 {
		t.Errorf("the same form has ids %s and another", a)
	}
	for _, other := range []string{formID(s, "tip2", "/deploy staging web", "sha"), formID(s, "tip1", "/lock staging web", ""), formID(&session{CSRF: strings.Repeat("c", 64)}, "tip1", "/deploy staging web", "sha")} {
		if other == a {
			t.Errorf("different forms share the id %s", a)
		}
	}
}

func TestPlainText(t *testing.T) {
	got := plainText("🚀 **Released** `web` `abc1234` to **staging**: gitops [0123456](https://example.com/c).")
	if got != "Released web abc1234 to staging: gitops 0123456." {
		t.Errorf("plainText = %q", got)
	}
}
