// Package handlers turns GitHub webhooks into Auger's use cases: one go-githubapp
// EventHandler per event type, each a screen of code that decodes the payload, filters
// what Auger does not act on, enriches the logger and delegates to package commands
// through the GitHub adapter. Handlers know no git and hold no release logic.
package handlers
