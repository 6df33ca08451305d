// Package notify tells operators' channels what happened to their releases.
//
// An Event says what happened (a release started, went live, failed, was rolled back,
// or a preview app was cleaned up) to which app in which environment, with optional
// links to the pull request, the commit, the gitops commit, the check run and the
// environment. Callers translate their own events into an Event; this package knows
// nothing else of Auger.
//
// A Notifier delivers an Event to one destination in one attempt:
//
//   - NewSlack posts to a Slack incoming webhook: a one-line mrkdwn summary such as
//     "🚀 *frontend* `deae5db` released to *staging* by jane" and a context line of links
//     ("PR · commit · gitops commit · check · environment"). User-provided text is
//     escaped, so a message cannot mention @channel or forge links.
//
//   - NewWebhook posts the Event itself as JSON to any URL, with the headers
//     "User-Agent: auger" and "X-Auger-Event: <kind>". kind, env and app are always
//     present; every other field is omitted when empty:
//
//     {"kind":"release.failed","env":"staging","app":"frontend","repository":"acme/frontend",
//     "sha":"deae5db…","actor":"jane","reason":"CrashLoop","time":"2024-05-01T12:00:00Z",
//     "commitURL":"https://github.com/acme/frontend/commit/deae5db…"}
//
// Webhook URLs are secrets (a Slack URL is all it takes to post to the channel), so a
// Notifier's String and errors name only the destination's host: "slack(hooks.slack.com)".
// Constructors never fail; a URL that is not http(s) makes every Notify fail at once.
//
// A Dispatcher is what the server uses. It maps each environment to its notifiers and
// sends every event to all of them in the background: Notify returns at once, at most
// a few sends run at a time, and each delivery is bounded by a timeout. A delivery is
// retried briefly on network errors, 5xx and 429 (honouring Retry-After up to a cap),
// never on other 4xx, because a wrong URL or a rejected payload won't fix itself. A
// delivery that still fails is logged once, without its URL; it never fails the release.
// Wait lets shutdown and tests wait for the sends in flight.
package notify
