// Package githubfake is a stateful fake of GitHub's REST API for Auger's tests, served
// by net/http/httptest and spoken to by the real clients: go-github, go-githubapp and
// ghinstallation.
//
// # Model
//
// A Fake is one GitHub with one App (id 1, slug "auger", an RSA key generated once per
// test binary): give Auger its URL, AppID and PrivateKeyPEM. Tests then set the world
// up with AddInstallation (an account that installed the App), AddRepo and the Repo
// methods (AddCommit with the full tree of each commit, AddTag and AddAnnotatedTag,
// AddCheckRun for CI's check runs, AddStatus, AddPullRequest, AddReview, AddComment,
// SetPermission, AddTeamMember), run Auger, and assert on what it left behind (CheckRuns, Statuses,
// Comments, Reactions, Deployments, PullRequests, Head) and on how it got there
// (Requests, Count).
//
// Authentication works as on GitHub: the App's JWT (RS256, iss = app id, exp at most
// ten minutes ahead) buys an installation token (ghs_..., one hour), and that token
// reaches only the repositories of its installation's account; anything else gets
// GitHub's 401 or 404.
//
// # Forks
//
// A pull request from a fork (PullRequest.Fork) is modelled as GitHub shows it to the
// base repository. Its head commit is added to the base repository with AddCommit and
// no Branch: GitHub keeps it under refs/pull/N/head, so repos/get-commit,
// repos/compare-commits (main...<head sha> answers ahead or diverged, not 404) and
// check runs reach it, while no branch holds it. pulls/get and pulls/list show head.repo
// as the fork, "<user>/<name>". What GitHub derives from this repository's branches
// leaves it out: repos/list-pull-requests-associated-with-commit does not list an
// unmerged fork pull request for its commits (GitHub's known quirk; a merged one is
// listed, for its merge commit too), check runs' pull_requests omit it, and Retarget
// sets a check suite's head_branch to null and its pull_requests to [] for a commit on
// no branch ("Pushes to a branch in a forked repository are not detected and return an
// empty pull_requests array and a null value for head_branch").
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
// fields GitHub sends today. Repo.Retarget points it at a fake repository and commit
// (for check events also at the commit's head_branch and open pull requests, derived
// as GitHub derives them); RetargetComment, RetargetPull and RetargetCheckRun at the
// fake's own comment, pull request or check run, so that the webhook and the API tell
// the same story.
// Fake.Deliver posts it to Auger's webhook endpoint signed like GitHub (Sign), and the
// App's delivery list and redelivery operations see it. InstallationOfToken lets a
// test's git server accept the installation tokens Auger pushes with.
//
// # Secondary rate limits
//
// EnforceLimits (opt-in per test) makes the fake refuse what GitHub's secondary limits
// refuse, per installation: more than 100 requests at once, 900 points a minute (a read
// costs 1, a write 5), 80 content-creating requests a minute or 500 an hour. A refusal is
// GitHub's: 403, Retry-After in whole seconds and GitHub's secondary-limit message (with
// the documentation_url go-github tells it by). Its time unit is the fake's second, so a
// benchmark can run GitHub's hour in seconds; Stats counts the refusals and how the
// creating requests were spaced (GitHub asks for one at a time, a second apart).
//
// # Extending
//
// Use adds middleware in front of the API, e.g. to inject faults. A new GitHub
// operation needs its operationId in scripts/vendor-github, a re-run of vendor.sh and
// a handler in routes.go. Take the operationId from @octokit/openapi, which can differ
// from GitHub's own description: there repos/compare-commits is the path go-github
// calls, compare/{base}...{head}, and compare/{basehead} is
// repos/compare-commits-with-basehead.
package githubfake
