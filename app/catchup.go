package app

import (
	"context"
	"fmt"
	"time"

	"github.com/auger-dev/auger/githubapi"
)

// catchUpEvents are the events whose handling a crash could lose.
var catchUpEvents = map[string]bool{
	"check_suite": true, "check_run": true, "issue_comment": true, "pull_request": true, "delete": true, "push": true,
}

// CatchUp asks GitHub to deliver again the webhooks of the last window: a process that
// crashed after acknowledging a delivery, or while it was down, has lost them. Every
// handler is idempotent on GitHub's ids and the gitops trailers, so a delivery that was
// handled changes nothing the second time, and one that was lost is handled once. It
// returns how many deliveries it asked for.
func (s *Server) CatchUp(ctx context.Context, window time.Duration) (int, error) {
	app, err := s.clients.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("catch up: GitHub App client: %w", err)
	}
	deliveries, err := githubapi.RecentDeliveries(ctx, app, time.Now().Add(-window))
	if err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	// Deliveries come newest first; redeliveries share their original's GUID.
	seen := map[string]bool{}
	asked := 0
	for _, d := range deliveries {
		if seen[d.GUID] || !catchUpEvents[d.Event] {
			continue
		}
		seen[d.GUID] = true
		if err := githubapi.Redeliver(ctx, app, d.ID); err != nil {
			return asked, fmt.Errorf("catch up: %w", err)
		}
		asked++
	}
	return asked, nil
}
