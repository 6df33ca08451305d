package githubfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-github/v50/github"

	"github.com/auger-dev/auger/internal/githubfake"
)

// With EnforceLimits, the 81st content-creating request of a minute is refused as
// GitHub refuses it, reads are not, and the minute's end admits creating again.
func TestSecondaryLimits(t *testing.T) {
	const unit = 5 * time.Millisecond // a minute is 300 ms
	w := newWorld(t, t)
	limited := w.fake.EnforceLimits(unit)
	gh := w.client(t)
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 80; i++ {
		if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "frontend", w.head, &github.RepoStatus{State: github.String("success"), Context: github.String("ci")}); err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
	}
	if time.Since(start) > 50*unit {
		t.Skip("the machine is too slow to make 80 requests within the fake's minute")
	}
	_, _, err := gh.Repositories.CreateStatus(ctx, "acme", "frontend", w.head, &github.RepoStatus{State: github.String("success"), Context: github.String("ci")})
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.Response.StatusCode != 403 || abuse.Message != githubfake.SecondaryLimitMessage ||
		abuse.RetryAfter == nil || *abuse.RetryAfter < time.Second || *abuse.RetryAfter > 60*time.Second {
		t.Fatalf("81st creating request in a minute: %v", err)
	}
	// go-github now holds back every request until Retry-After, in real seconds; Auger's
	// transport waits for it itself. Go on with a client that has not seen the refusal.
	gh = githubWithoutMemory(t, w)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "frontend"); err != nil {
		t.Errorf("a read after the creating limit: %v", err)
	}
	time.Sleep(time.Duration(*abuse.RetryAfter/time.Second) * unit)
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "frontend", w.head, &github.RepoStatus{State: github.String("success"), Context: github.String("ci")}); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	if s := limited.Stats(); s.Refused != 1 || s.Creating != 81 {
		t.Errorf("stats = %+v", s)
	}
}

func githubWithoutMemory(t *testing.T, w *world) *github.Client {
	t.Helper()
	c, err := clientCreator(t, w.fake, w.fake.PrivateKeyPEM()).NewInstallationClient(installationID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
