// Package app wires Auger together: configuration, the CLI subcommands and the HTTP
// server of the GitHub App (webhooks, agent reports, health and metrics). It holds no release logic of its own: every
// subcommand calls the same use cases in package commands that the App's handlers do.
package app
