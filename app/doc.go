// Package app wires Auger together: the configuration, the CLI subcommands, and the
// GitHub App's HTTP server that `auger serve` runs. It holds no release logic of its
// own: every subcommand calls the same use cases in package commands that the App's
// handlers do.
//
// Config is one struct read from strict YAML, with AUGER_* environment overrides and
// defaults applied in one place, and validated before anything starts; every problem is
// reported at once.
//
// NewServer builds the server from a Config: GitHub clients (retries and rate limits
// from package githubapi), the webhook handlers of package handlers behind
// go-githubapp's dispatcher, and a bounded webhook queue with a fixed set of workers.
// A full queue answers 503 so GitHub can redeliver; a delivery already in flight or
// handled is acknowledged and skipped. The server also takes the in-cluster agents'
// rollout reports (POST /api/agent/v1/report), serves /healthz, /readyz and /metrics,
// asks GitHub at start to redeliver what a crash may have lost (CatchUp), and on
// shutdown stops intake and drains the queue and the notifications in flight.
package app
