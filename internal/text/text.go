// Package text shortens strings for people: commit hashes as git shows them, and long
// values cut with an ellipsis. Every package that shows a hash or cuts a message uses
// these, so replies, commit subjects, notifications and the CLI agree.
package text

import "unicode/utf8"

// Short returns the first 7 characters of a commit hash (all of a shorter one), as git
// and GitHub show hashes.
func Short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Truncate cuts s to at most n characters (runes), the last of them an ellipsis when it
// cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}
