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

// CatchUp asks GitHub to deliver again the webhooks of the last window that this server
// did not finish: a process that crashed after acknowledging a delivery, or while it was
// down, has lost them, and a handler that failed wants another try. Deliveries in the
// server's journal were handled and are skipped, so a restart costs the delivery list
// (one request per 100 deliveries) and one redelivery per delivery not finished here.
// Every handler is idempotent on GitHub's ids and the gitops trailers, so a delivery
// handled elsewhere (another replica) changes nothing the second time. It returns how
// many deliveries it asked for. Deliveries in flight here are skipped too, so asking
// again a little later only redelivers what did not arrive (a redelivery sent before a
// load balancer had this replica in rotation).
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
		if seen[d.GUID] || !catchUpEvents[d.Event] || s.queue.journal.has(d.GUID) || s.queue.seen.Contains(d.GUID) {
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
