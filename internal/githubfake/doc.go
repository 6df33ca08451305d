// Package githubfake is a stateful fake of GitHub's REST API for Auger's tests, served
// by net/http/httptest and spoken to by the real clients: go-github, go-githubapp and
// ghinstallation.
//
// # Model
//
// A Fake is one GitHub with one App (id 1, slug "auger", an RSA key generated once per
// test binary): give Auger its URL, AppID and PrivateKeyPEM. Tests then set the world
// up with AddInstallation (an account that installed the App), AddRepo and the Repo
// methods (AddCommit with the full tree of each commit, AddCheckRun for CI's check
// runs, AddStatus, AddPullRequest, AddReview, AddComment, SetPermission,
// AddTeamMember), run Auger, and assert on what it left behind (CheckRuns, Statuses,
// Comments, Reactions, Deployments, PullRequests, Head) and on how it got there
// (Requests, Count).
//
// Authentication works as on GitHub: the App's JWT (RS256, iss = app id, exp at most
// ten minutes ahead) buys an installation token (ghs_..., one hour), and that token
// reaches only the repositories of its installation's account; anything else gets
// GitHub's 401 or 404.
//
// # Checked against GitHub's description
//
// The fake serves exactly the operations vendored into testdata/openapi.json from
// @octokit/openapi (scripts/vendor-github). Every request is validated against that
// description before it is served, and every response before it is sent. A request
// GitHub would reject is a bug in Auger: the fake reports it with t.Errorf and answers
// 422 (400 for unparsable JSON) as GitHub does. A response that breaks the description
// is a bug in the fake, reported the same way. A route outside the vendored set is
// reported as an unvendored operation and answered 404: vendor it first. Limits the
// description states (50 annotations and 3 actions per request, 65535-character check
// output) are thus reported as Auger's mistakes; those it leaves out but GitHub
// enforces (140-character status descriptions, 65536-character comments, annotation
// columns on one line only, commits that must exist) get GitHub's 422 without a report.
//
// # Webhooks
//
// Payload returns an example payload from @octokit/webhooks-examples, adapted to the
// fields GitHub sends today. Repo.Retarget points it at a fake repository and commit;
// RetargetComment, RetargetPull and RetargetCheckRun at the fake's own comment, pull
// request or check run, so that the webhook and the API tell the same story.
// Fake.Deliver posts it to Auger's webhook endpoint signed like GitHub (Sign), and the
// App's delivery list and redelivery operations see it. InstallationOfToken lets a
// test's git server accept the installation tokens Auger pushes with.
//
// # Extending
//
// Use adds middleware in front of the API, e.g. to inject faults. A new GitHub
// operation needs its operationId in scripts/vendor-github, a re-run of vendor.sh and
// a handler in routes.go.
package githubfake
