package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/auger-dev/auger/artifact"
)

// This file is the pull-request comment language: which line of a comment is a command
// and what it asks for. It is pure (no GitHub, no I/O) so that the handler, the tests
// and the fuzzer all see exactly what a user typed.

// Command is one command from a pull-request comment. Commands are plain values; Lock
// holds a slice, so compare them with reflect.DeepEqual, never with ==.
type Command interface {
	// Name is the command word without its slash: "deploy", "rollback", "lock",
	// "unlock", "status", "diff" or "help".
	Name() string
	// String is the canonical form, e.g. "/deploy staging api"; Parse(c.String())
	// returns c again, so it is safe to echo back to the user or to log.
	String() string
}

// Deploy asks to release the pull request's head commit to Env: every app the artifact
// has for that environment, or only App.
type Deploy struct{ Env, App string }

// Rollback asks to restore an earlier release in Env, of App (the use case decides
// which app when App is empty). To picks the release: empty for the one before the
// current release, else a release number or a commit sha prefix.
type Rollback struct{ Env, App, To string }

// Lock asks to freeze Env (or one app in it) against releases. The words after the
// environment are kept as typed because whether the first one names an app is only
// known to whoever knows the environment's apps: see Split.
type Lock struct {
	Env  string
	Args []string
}

// Unlock asks to lift the lock on Env, or on App in Env.
type Unlock struct{ Env, App string }

// Status asks what is released in every environment, or in Env.
type Status struct{ Env string }

// Diff asks what releasing the pull request's head to Env (every app, or only App)
// would change in the gitops repository.
type Diff struct{ Env, App string }

// Help asks for HelpText.
type Help struct{}

// Name implements Command.
func (Deploy) Name() string { return "deploy" }

// Name implements Command.
func (Rollback) Name() string { return "rollback" }

// Name implements Command.
func (Lock) Name() string { return "lock" }

// Name implements Command.
func (Unlock) Name() string { return "unlock" }

// Name implements Command.
func (Status) Name() string { return "status" }

// Name implements Command.
func (Diff) Name() string { return "diff" }

// Name implements Command.
func (Help) Name() string { return "help" }

// String implements Command.
func (d Deploy) String() string { return joinWords("/deploy", d.Env, d.App) }

// String implements Command.
func (r Rollback) String() string {
	s := joinWords("/rollback", r.Env, r.App)
	if r.To != "" {
		s += " to " + r.To
	}
	return s
}

// String implements Command.
func (l Lock) String() string { return joinWords(append([]string{"/lock", l.Env}, l.Args...)...) }

// String implements Command.
func (u Unlock) String() string { return joinWords("/unlock", u.Env, u.App) }

// String implements Command.
func (s Status) String() string { return joinWords("/status", s.Env) }

// String implements Command.
func (d Diff) String() string { return joinWords("/diff", d.Env, d.App) }

// String implements Command.
func (Help) String() string { return "/help" }

// Split tells the app from the reason. The first word is the app only when isApp says
// it names one (and it is a valid name); otherwise every word is the reason, so that
// "/lock production deploys are frozen" does not lock an app called "deploys".
func (l Lock) Split(isApp func(name string) bool) (app, reason string) {
	if len(l.Args) > 0 && isApp != nil && namingProblem(l.Args[0]) == "" && isApp(l.Args[0]) {
		return l.Args[0], strings.Join(l.Args[1:], " ")
	}
	return "", strings.Join(l.Args, " ")
}

// ErrNoCommand means the comment holds no command for Auger: most comments are
// conversation, and /words of other bots are theirs to answer. Stay silent.
var ErrNoCommand = errors.New("no command")

// UsageError is a known command with wrong arguments. It is the user's mistake, so it
// is answered on the pull request, not returned to GitHub.
type UsageError struct {
	Command string // the command name, e.g. "deploy"
	Problem string // what is wrong, e.g. `name the environment`
}

// Error says what is wrong and how the command is used, ready to show the user.
func (e *UsageError) Error() string {
	msg := "/" + e.Command + ": " + e.Problem
	if u := usageOf(e.Command); u != "" {
		msg += "; usage: " + u
	}
	return msg
}

// UnknownCommandError is a /word that looks like a mistyped command of ours, so the
// user is told rather than ignored. Word is as typed, with its slash; Suggestion is the
// command it most resembles, e.g. "/deploy", or empty.
type UnknownCommandError struct{ Word, Suggestion string }

// Error names the word, the command it resembles and /help.
func (e *UnknownCommandError) Error() string {
	if e.Suggestion == "" {
		return fmt.Sprintf("unknown command %s; try /help", quoteArg(e.Word))
	}
	return fmt.Sprintf("unknown command %s; did you mean %s? Try /help", quoteArg(e.Word), e.Suggestion)
}

// HelpText answers /help: one line per command, as markdown. The usage lines are the
// ones UsageError shows (a test keeps them in step).
const HelpText = "**Auger commands** go on the first line of a pull-request comment " +
	"(quoted lines and code blocks are ignored, so you can quote a command without running it):\n\n" +
	"- `/deploy <env> [app]`: release this pull request's head commit to `<env>`: every app it has there, or only `[app]`.\n" +
	"- `/rollback <env> [app] [to <ref>]`: restore an earlier release: the one before the current release, or the release number or commit sha `<ref>`.\n" +
	"- `/lock <env> [app] [reason...]`: freeze `<env>`, or only `[app]` in it, against releases; the reason is shown to whoever tries to release.\n" +
	"- `/unlock <env> [app]`: lift that lock.\n" +
	"- `/status [env]`: show what is released in every environment, or in `<env>`.\n" +
	"- `/diff <env> [app]`: show what `/deploy <env> [app]` would change in the gitops repository, object by object, without releasing.\n" +
	"- `/help`: show this message.\n\n" +
	"Environment and app names are lower-case DNS labels such as `staging` or `api`. " +
	"You can also deploy without a comment: in the **Checks** tab, the `" + CheckArtifact + "` check run " +
	"of a commit has a **Deploy to …** button for each of its environments (up to three).\n"

func usageOf(command string) string {
	switch command {
	case "deploy":
		return "/deploy <env> [app]"
	case "rollback":
		return "/rollback <env> [app] [to <ref>]"
	case "lock":
		return "/lock <env> [app] [reason...]"
	case "unlock":
		return "/unlock <env> [app]"
	case "status":
		return "/status [env]"
	case "diff":
		return "/diff <env> [app]"
	case "help":
		return "/help"
	}
	return ""
}

// How much of a comment Parse reads. A command is at the top; comments can be pasted
// logs of several MB, and no command is 1,000 characters long.
const (
	parseScanBytes = 64 << 10
	parseScanLines = 200
	parseLineRunes = 1000
)

// Parse finds the command in a pull-request comment body. The command is the first
// line that is not blank, quoted, code or an HTML comment; when that line does not start
// with "/", or its /word is nobody's or another bot's, there is no command
// (ErrNoCommand), even if a later line has one: people mention commands in prose.
// Otherwise the error is a *UsageError or an *UnknownCommandError, to show the user.
func Parse(body string) (Command, error) {
	line, ok := commandLine(body)
	if !ok {
		return nil, ErrNoCommand
	}
	fields := strings.Fields(line)
	word, args := fields[0], fields[1:]
	switch name := lowerASCII(word[1:]); name {
	case "deploy":
		env, app, err := envAndApp(name, args)
		if err != nil {
			return nil, err
		}
		return Deploy{Env: env, App: app}, nil
	case "rollback":
		return parseRollback(args)
	case "lock":
		return parseLock(args)
	case "unlock":
		env, app, err := envAndApp(name, args)
		if err != nil {
			return nil, err
		}
		return Unlock{Env: env, App: app}, nil
	case "status":
		return parseStatus(args)
	case "diff":
		env, app, err := envAndApp(name, args)
		if err != nil {
			return nil, err
		}
		return Diff{Env: env, App: app}, nil
	case "help":
		if len(args) > 0 {
			return nil, &UsageError{Command: name, Problem: "takes no arguments, not " + quoteArg(strings.Join(args, " "))}
		}
		return Help{}, nil
	default:
		if s := suggestCommand(name); s != "" {
			return nil, &UnknownCommandError{Word: word, Suggestion: "/" + s}
		}
		return nil, ErrNoCommand
	}
}

// commandLine returns the first line of body that is not blank, quoted, in a code block
// or in an HTML comment, when it starts with "/"; it follows CommonMark just far enough
// to agree with what GitHub shows as the comment's first paragraph.
func commandLine(body string) (string, bool) {
	cut := len(body) > parseScanBytes
	if cut {
		body = body[:parseScanBytes]
	}
	fence := ""        // the opening fence of the code block we are in
	inComment := false // in an HTML comment
	for n := 0; n < parseScanLines && body != ""; n++ {
		line, rest, found := strings.Cut(body, "\n")
		if !found && cut {
			return "", false // the last line may be cut short: "/deploy prod" from "/deploy production"
		}
		body = rest
		switch {
		case fence != "":
			if closesFence(line, fence) {
				fence = ""
			}
			continue
		case inComment:
			inComment = !strings.Contains(line, "-->")
			continue
		case strings.TrimSpace(line) == "":
			continue
		}
		text := strings.TrimLeft(line, " \t")
		indent := line[:len(line)-len(text)]
		if len(indent) >= 4 || strings.Contains(indent, "\t") {
			continue // indented code: a tab always reaches column 4
		}
		text = strings.TrimRightFunc(text, unicode.IsSpace)
		switch {
		case text[0] == '>':
			continue
		case strings.HasPrefix(text, "<!--"):
			inComment = !strings.Contains(text, "-->")
			continue
		}
		if fence = codeFence(text); fence != "" {
			continue
		}
		if text[0] != '/' || utf8.RuneCountInString(text) > parseLineRunes {
			return "", false
		}
		// Comments arrive as JSON strings, so this only matters to the fuzzer, but it keeps
		// String() and Parse in agreement.
		return strings.ToValidUTF8(text, "\uFFFD"), true
	}
	return "", false
}

// codeFence returns the fence that opens a fenced code block on this line (at least
// three backticks or tildes), or "".
func codeFence(text string) string {
	if text == "" || (text[0] != '`' && text[0] != '~') {
		return ""
	}
	n := len(text) - len(strings.TrimLeft(text, text[:1]))
	if n < 3 || (text[0] == '`' && strings.Contains(text[n:], "`")) {
		return "" // ```x``` is inline code, not a fence
	}
	return text[:n]
}

// closesFence reports whether line ends the code block opened by fence: the same
// character at least as many times, indented less than four spaces, nothing after.
func closesFence(line, fence string) bool {
	text := strings.TrimLeft(line, " ")
	if len(line)-len(text) > 3 {
		return false
	}
	n := len(text) - len(strings.TrimLeft(text, fence[:1]))
	return n >= len(fence) && strings.Trim(text[n:], " \t\r") == ""
}

func envAndApp(command string, args []string) (env, app string, err error) {
	if len(args) == 0 {
		return "", "", &UsageError{Command: command, Problem: "name the environment"}
	}
	if len(args) > 2 {
		return "", "", tooMany(command, args[2:])
	}
	if err := checkName(command, "environment", args[0]); err != nil {
		return "", "", err
	}
	if len(args) == 2 {
		if err := checkName(command, "app", args[1]); err != nil {
			return "", "", err
		}
		app = args[1]
	}
	return args[0], app, nil
}

func parseRollback(args []string) (Command, error) {
	const command = "rollback"
	if len(args) == 0 {
		return nil, &UsageError{Command: command, Problem: "name the environment"}
	}
	if err := checkName(command, "environment", args[0]); err != nil {
		return nil, err
	}
	r := Rollback{Env: args[0]}
	// "to" is a keyword here, never an app: otherwise "/rollback staging to" could not
	// say which it means.
	isTo := func(s string) bool { return lowerASCII(s) == "to" }
	rest := args[1:]
	if len(rest) > 0 && !isTo(rest[0]) {
		if err := checkName(command, "app", rest[0]); err != nil {
			return nil, err
		}
		r.App, rest = rest[0], rest[1:]
	}
	switch {
	case len(rest) == 0:
		return r, nil
	case !isTo(rest[0]):
		return nil, tooMany(command, rest)
	case len(rest) == 1:
		return nil, &UsageError{Command: command, Problem: `say which release after "to": a release number or a commit sha`}
	case len(rest) > 2:
		return nil, tooMany(command, rest[2:])
	}
	if !isRef(rest[1]) {
		return nil, &UsageError{Command: command, Problem: quoteArg(rest[1]) + " is not a release number or a commit sha (1 to 40 hex digits)"}
	}
	r.To = rest[1]
	return r, nil
}

// isRef accepts a release number or a (prefix of a) commit sha; gitops resolves it.
func isRef(s string) bool {
	if len(s) > 40 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func parseLock(args []string) (Command, error) {
	const command = "lock"
	if len(args) == 0 {
		return nil, &UsageError{Command: command, Problem: "name the environment"}
	}
	if err := checkName(command, "environment", args[0]); err != nil {
		return nil, err
	}
	l := Lock{Env: args[0]}
	for _, a := range args[1:] {
		// The reason ends up in a commit message and in comments; control characters
		// (terminal escapes, NUL) have no business there.
		if i := strings.IndexFunc(a, unicode.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString(a[i:])
			return nil, &UsageError{Command: command, Problem: fmt.Sprintf("the reason must be plain text; it has the control character %U", r)}
		}
	}
	if len(args) > 1 {
		l.Args = args[1:]
	}
	return l, nil
}

func parseStatus(args []string) (Command, error) {
	const command = "status"
	switch len(args) {
	case 0:
		return Status{}, nil
	case 1:
		if err := checkName(command, "environment", args[0]); err != nil {
			return nil, err
		}
		return Status{Env: args[0]}, nil
	}
	return nil, tooMany(command, args[1:])
}

func tooMany(command string, extra []string) error {
	return &UsageError{Command: command, Problem: "too many arguments: " + quoteArg(strings.Join(extra, " "))}
}

// checkName refuses what is not a DNS-1123 label rather than fixing it: "Staging" or a
// Cyrillic "о" would otherwise name a different environment than the one meant.
func checkName(command, kind, name string) error {
	why := namingProblem(name)
	if why == "" {
		return nil
	}
	return &UsageError{Command: command, Problem: fmt.Sprintf(
		"%s name %s is not valid: %s; names are DNS labels (a-z, 0-9 and '-', at most 63 characters, starting and ending with a letter or digit)",
		kind, quoteArg(name), why)}
}

// namingProblem says why name is not a DNS-1123 label, or returns "" when it is one. The
// rule is artifact's (apimachinery's); this only explains it in the words of a comment.
func namingProblem(name string) string {
	if artifact.DNSLabelProblem(name) == "" {
		return ""
	}
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-':
		case 'A' <= r && r <= 'Z':
			return "upper-case letters are not allowed"
		case r >= utf8.RuneSelf:
			return fmt.Sprintf("%U is not ASCII, even if it looks like a Latin letter", r)
		default:
			return fmt.Sprintf("%q is not allowed", r)
		}
	}
	switch {
	case name == "":
		return "it is empty"
	case len(name) > 63:
		return "it is longer than 63 characters"
	case name[0] == '-' || name[len(name)-1] == '-':
		return "it starts or ends with '-'"
	}
	return "it is not a DNS-1123 label"
}

// suggestCommand returns the command that word (lower-cased, without its slash) looks
// like a typo of, or "". It errs towards silence: a false suggestion answers another
// bot's command (Prow's /hold, /honk) with noise.
func suggestCommand(word string) string {
	best, bestScore := "", -1
	w := []rune(word)
	for _, name := range []string{"deploy", "rollback", "lock", "unlock", "status", "diff", "help"} {
		score := -1
		if len(w) >= 3 && strings.HasPrefix(name, word) {
			score = 0
		} else if d := typoDistance(w, []rune(name)); d <= 1 || (d == 2 && len(name) > 4) {
			// Two edits turn most four-letter words into "help" or "lock".
			score = d
		}
		if score >= 0 && (bestScore < 0 || score < bestScore) {
			best, bestScore = name, score
		}
	}
	return best
}

// typoDistance is the optimal string alignment distance: insertions, deletions,
// substitutions and swaps of neighbours each count one. Anything over 2 is reported as 3.
func typoDistance(a, b []rune) int {
	if len(a)-len(b) > 2 || len(b)-len(a) > 2 {
		return 3
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return min(d[len(a)][len(b)], 3)
}

// lowerASCII lower-cases A-Z only: Unicode case mapping would turn the Kelvin sign in
// "/LOC\u212A" into a real "/lock".
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// quoteArg quotes user input for a message: short, and with non-ASCII escaped so that a
// look-alike letter shows as what it is.
func quoteArg(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit-1]) + "…"
	}
	return strconv.QuoteToASCII(s)
}

// joinWords joins the non-empty words with spaces.
func joinWords(words ...string) string {
	var b strings.Builder
	for _, w := range words {
		if w == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}
