// Package app wires Auger together: configuration, the CLI subcommands and (later) the
// HTTP server of the GitHub App. It holds no release logic of its own: every
// subcommand calls the same use cases in package commands that the App's handlers do.
package app
