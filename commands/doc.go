// Package commands holds Auger's use cases: release (deploy), rollback, the release log,
// locks and environment creation. There is one release path: `auger release` on a
// terminal, a /deploy comment, a Checks-UI button and a deploy policy all end in
// Releaser.Release; only who is asking (an Actor, checked by an Authorizer) and where
// the answer goes differ. A use case takes its collaborators as small interfaces and
// knows nothing of HTTP, webhooks or the CLI.
package commands
