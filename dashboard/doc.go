// Package dashboard is Auger's web dashboard, served by `auger serve` when the GitHub
// App's OAuth client is configured: every environment and app at a glance, live, with
// GitHub sign-in.
//
// # What it shows
//
// The home page is a matrix of environments × apps: the released commit, the pull
// request or branch it came from, who released it and when, the rollout state the
// environment's agent reported (live, progressing, failed with the reason, unknown, or
// released where no agent reports) and the lock, if any. An app's page adds its release
// log (the gitops history with its trailers), its objects and the recent commits of its
// repository with their CI state and artifact; an environment's page its apps, locks
// and rules.
//
// # Where the state comes from
//
// Nothing is kept: the environments come from their gitops repositories
// (gitops.Repo.Snapshot, one fetch each), the rollouts from the deploy check runs the
// agents' reports update, the artifacts and CI from the commits' check runs, and what a
// person may see from GitHub, asked with their own token. The reader caches each for a
// second or a few (longer once a rollout has settled), refreshes when someone looks,
// and drops what a webhook or an agent report says changed; every replica therefore
// shows the same page within a refresh. Pages poll their live part with an ETag every
// 1.5 s (a 304 when nothing changed); without JavaScript they are the same, static.
//
// # Who sees and does what
//
// Sign-in is GitHub's web flow for the App (user-to-server tokens). The session is a
// signed and encrypted cookie (gorilla/securecookie, keys derived from the App's client
// secret, eight hours) holding the login, the token and a CSRF token; no server-side
// store, so replicas need none. A person sees the apps whose release record names a
// repository their token can read. Deploy, Roll back, Lock and Unlock need the
// session's CSRF token, and run through commands.PullRequests.Dashboard: the same
// pipeline and Authorizer as a comment, as that person, recorded with
// Auger-Triggered-By: <login> and Auger-Trigger: dashboard:<form id>.
package dashboard
