// Package commandstest holds small hand-written fakes of the GitHub interfaces package
// commands asks for, so each use case and each rule has table tests without an HTTP
// server. A fake answers with its plain fields (…Value to return, …Error to fail) and
// counts the calls it gets, so a test can also say what a step costs.
package commandstest
