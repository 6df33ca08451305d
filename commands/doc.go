// Package commands holds Auger's use cases and the one release pipeline they share.
//
// # The pipeline
//
// Every release, whoever asks for it, goes through the same steps:
//
//	resolve → authorize → write → land → announce → tell
//
// The entry points differ only in the first and the last step. A /deploy comment or a
// "Deploy to <env>" button (deploy.go), a deploy policy (policies.go) and a rollback
// (rollback.go) resolve what to release (the artifact recorded on the commit, the
// environment's rules, the apps meant) into a shipment; the Releaser authorizes it with
// the one Authorizer (Rules in the GitHub App, Anyone on a terminal) against the commit
// it is about to write, renders it and writes it to the gitops repository with a
// compare-and-swap (package gitops); land opens and merges its gitops pull request when
// the environment takes releases that way; announce creates the "Auger: deploy <env>"
// check run and the GitHub Deployment (pipeline.go); tell updates the preview comment
// and the environment's channels, and the entry point answers where its asker looks: a
// reply on the pull request (run.go, replies.go), the artifact check run for a policy,
// the terminal for the CLI. Locks (locks.go), status (status.go), cleanups
// (previews.go) and proposals closing (proposals.go) use the same Authorizer.
//
// Each step is keyed on the trigger (the comment, the click, the policy): the gitops
// write records it as Auger-Trigger, so a redelivery or a restart finds the write done
// and resumes the steps after it, looking up what they created before instead of
// creating it twice.
//
// # Where commits come from
//
// The Rules judge the commit, not the entry point: a commit is released to an
// environment that refuses forks only when GitHub proves it belongs to the base
// repository (origin.go). Check events for a fork's head name no pull request and no
// branch; "no pull request known" proves nothing, and an unknown origin is refused.
//
// # Seams
//
// The use cases know nothing of HTTP, webhooks or the CLI. They take GitHub as small
// interfaces (Checks, Contents, Conversation, Deployments, RulesGitHub, OriginGitHub;
// github.go) implemented by package githubapi, and package commandstest fakes each of
// them, so every use case has tests without a server.
package commands
