// Package gitops writes releases into a gitops repository and reads them back.
//
// A gitops repository holds one folder per environment (its path, the env name by
// default) and in it one folder per app: the rendered objects, one file each, a
// kustomization.yaml listing them for Flux, and release.json saying what is released.
// Every write is one commit whose trailers (Auger-Action, Auger-App, Auger-Env,
// Auger-Artifact, Auger-Repository, Auger-Sha, Auger-Triggered-By, Auger-Trigger,
// Auger-Rollback-To) make `git log` the audit log. Locks live in .auger/locks/, outside
// every environment's path, so Flux never applies them.
//
// Writes never check a worktree out. A Repo keeps one cached bare clone per remote;
// an empty cache fetches the branch tip alone (depth 1, and without blobs when the
// remote offers partial clone, fetching the few blobs a write reads), a warm one what
// is new since its tip. A write builds new tree objects from the tip's trees, replacing
// only the app's folder, commits, and pushes exactly the objects it created. The push
// is a compare-and-swap (the branch moves only if it is still where we read it); a
// rejected push re-reads the tip and re-applies the change, a bounded number of times
// with jittered backoff, never forcing, while an unreachable remote is tried twice. So
// several processes writing one branch lose nothing, unrelated files are never
// touched, and a write that changes nothing (same content, or a trigger already
// recorded within the redelivery window) makes no commit.
//
// Beside the clone, an index maps each folder to the commits that changed it, built
// when a log or rollback first needs the history, so an app's release log costs time
// in proportion to its own commits. Commits that changed a folder without Auger's
// trailers show in the log as external changes. docs/gitops-writes.md explains each
// choice.
package gitops
