package commands_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/auger-dev/auger/commands"
)

func TestParse(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	tests := map[string]struct {
		body string
		want commands.Command
		err  string
	}{
		// Each command.
		"deploy env":             {body: "/deploy staging", want: commands.Deploy{Env: "staging"}},
		"deploy env and app":     {body: "/deploy production api", want: commands.Deploy{Env: "production", App: "api"}},
		"deploy extra spaces":    {body: "/deploy  staging\t api  ", want: commands.Deploy{Env: "staging", App: "api"}},
		"deploy digits and dash": {body: "/deploy eu-west-1 api-v2", want: commands.Deploy{Env: "eu-west-1", App: "api-v2"}},
		"deploy 63 characters":   {body: "/deploy " + strings.Repeat("a", 63), want: commands.Deploy{Env: strings.Repeat("a", 63)}},
		"rollback env":           {body: "/rollback staging", want: commands.Rollback{Env: "staging"}},
		"rollback app":           {body: "/rollback staging api", want: commands.Rollback{Env: "staging", App: "api"}},
		"rollback app to number": {body: "/rollback staging api to 3", want: commands.Rollback{Env: "staging", App: "api", To: "3"}},
		"rollback env to sha":    {body: "/rollback staging to abc123", want: commands.Rollback{Env: "staging", To: "abc123"}},
		"rollback to full sha":   {body: "/rollback staging api to " + sha, want: commands.Rollback{Env: "staging", App: "api", To: sha}},
		"rollback To and HEX":    {body: "/rollback staging To ABC123", want: commands.Rollback{Env: "staging", To: "ABC123"}},
		"lock env":               {body: "/lock production", want: commands.Lock{Env: "production"}},
		"lock words":             {body: "/lock production api incident  42", want: commands.Lock{Env: "production", Args: []string{"api", "incident", "42"}}},
		"lock any text":          {body: "/lock production 🎄 Freeze — see #42!", want: commands.Lock{Env: "production", Args: []string{"🎄", "Freeze", "—", "see", "#42!"}}},
		"unlock env":             {body: "/unlock production", want: commands.Unlock{Env: "production"}},
		"unlock app":             {body: "/unlock production api", want: commands.Unlock{Env: "production", App: "api"}},
		"status":                 {body: "/status", want: commands.Status{}},
		"status env":             {body: "/status staging", want: commands.Status{Env: "staging"}},
		"help":                   {body: "/help", want: commands.Help{}},
		"diff env":               {body: "/diff staging", want: commands.Diff{Env: "staging"}},
		"diff env and app":       {body: "/diff staging api", want: commands.Diff{Env: "staging", App: "api"}},
		"diff without env":       {body: "/diff", err: "/diff: "},
		"diff too many":          {body: "/diff staging api web", err: `/diff: too many arguments: "web"; usage: /diff <env> [app]`},
		"diff typo":              {body: "/dif staging", err: "did you mean /diff?"},

		// Case: the command word and "to" only.
		"capitalized word": {body: "/Deploy staging", want: commands.Deploy{Env: "staging"}},
		"upper-case word":  {body: "/HELP", want: commands.Help{}},
		"upper-case env":   {body: "/deploy Staging", err: `/deploy: environment name "Staging" is not valid: upper-case letters are not allowed; names are DNS labels`},

		// Wrong arguments.
		"deploy without env":     {body: "/deploy", err: "/deploy: name the environment; usage: /deploy <env> [app]"},
		"deploy too many":        {body: "/deploy staging api web", err: `/deploy: too many arguments: "web"; usage: /deploy <env> [app]`},
		"deploy upper-case app":  {body: "/deploy staging API", err: `app name "API" is not valid: upper-case letters`},
		"deploy underscore":      {body: "/deploy staging my_app", err: `app name "my_app" is not valid: '_' is not allowed`},
		"deploy path":            {body: "/deploy ../x", err: `environment name "../x" is not valid: '.' is not allowed`},
		"deploy cyrillic o":      {body: "/deploy pr\u043eduction", err: `environment name "pr\u043eduction" is not valid: U+043E is not ASCII`},
		"deploy leading dash":    {body: "/deploy -staging", err: "it starts or ends with '-'"},
		"deploy trailing dash":   {body: "/deploy staging-", err: "it starts or ends with '-'"},
		"deploy 64 characters":   {body: "/deploy " + strings.Repeat("a", 64), err: "it is longer than 63 characters"},
		"rollback without env":   {body: "/rollback", err: "/rollback: name the environment; usage: /rollback <env> [app] [to <ref>]"},
		"rollback bad env":       {body: "/rollback Staging", err: `environment name "Staging" is not valid`},
		"rollback bad app":       {body: "/rollback staging Api", err: `app name "Api" is not valid`},
		"rollback to no ref":     {body: "/rollback staging to", err: `/rollback: say which release after "to"`},
		"rollback app to no ref": {body: "/rollback staging api to", err: `say which release after "to"`},
		"rollback branch name":   {body: "/rollback staging to main", err: `"main" is not a release number or a commit sha`},
		"rollback 41 hex digits": {body: "/rollback staging to " + sha + "0", err: "is not a release number or a commit sha (1 to 40 hex digits)"},
		"rollback too many":      {body: "/rollback staging api web", err: `too many arguments: "web"`},
		"rollback after ref":     {body: "/rollback staging api to 3 now", err: `too many arguments: "now"`},
		"rollback app named to":  {body: "/rollback staging to to 3", err: `too many arguments: "3"`},
		"lock without env":       {body: "/lock", err: "/lock: name the environment; usage: /lock <env> [app] [reason...]"},
		"lock bad env":           {body: "/lock Production api", err: `environment name "Production" is not valid`},
		"lock control character": {body: "/lock production \x1b[31mred", err: "the reason must be plain text; it has the control character U+001B"},
		"unlock without env":     {body: "/unlock", err: "/unlock: name the environment; usage: /unlock <env> [app]"},
		"unlock too many":        {body: "/unlock production api now", err: `too many arguments: "now"`},
		"status too many":        {body: "/status staging api", err: `/status: too many arguments: "api"; usage: /status [env]`},
		"status bad env":         {body: "/status STAGING", err: `environment name "STAGING" is not valid`},
		"help with words":        {body: "/help me please", err: `/help: takes no arguments, not "me please"; usage: /help`},

		// Where the command is.
		"leading blank lines":       {body: "\n  \n\t\n/deploy staging", want: commands.Deploy{Env: "staging"}},
		"crlf":                      {body: "\r\n/deploy staging api\r\nthanks!\r\n", want: commands.Deploy{Env: "staging", App: "api"}},
		"crlf blank lines":          {body: "\r\n\r\n/status\r\n", want: commands.Status{}},
		"three spaces of indent":    {body: "   /deploy staging", want: commands.Deploy{Env: "staging"}},
		"text after the command":    {body: "/deploy staging\nIt has the fix for #12.", want: commands.Deploy{Env: "staging"}},
		"prose first":               {body: "Looks good, please run\n/deploy staging", err: "no command"},
		"prose mentions a command":  {body: "I'll /deploy staging later", err: "no command"},
		"quoted":                    {body: "> /deploy staging", err: "no command"},
		"quoted with spaces":        {body: "  > /deploy staging", err: "no command"},
		"quote then prose":          {body: "> /deploy staging\n\nDid that work?\n/deploy staging", err: "no command"},
		"quote then command":        {body: "> can we ship it?\n\n/deploy staging", want: commands.Deploy{Env: "staging"}},
		"fenced":                    {body: "```\n/deploy staging\n```", err: "no command"},
		"fenced with language":      {body: "```sh\n/deploy staging\n```\n/deploy production", want: commands.Deploy{Env: "production"}},
		"tilde fence":               {body: "~~~\n/deploy staging\n~~~\n/unlock staging", want: commands.Unlock{Env: "staging"}},
		"shorter fence stays open":  {body: "````\n```\n/deploy staging\n````\n/status", want: commands.Status{}},
		"other fence stays open":    {body: "```\n~~~\n/deploy staging\n```\n/status", want: commands.Status{}},
		"unclosed fence":            {body: "```\n/deploy staging", err: "no command"},
		"inline code is no fence":   {body: "```/deploy staging```\n/deploy production", err: "no command"},
		"indented code":             {body: "    /deploy staging", err: "no command"},
		"tab-indented code":         {body: "\t/deploy staging", err: "no command"},
		"space and tab":             {body: "  \t/deploy staging", err: "no command"},
		"indented code then":        {body: "    /deploy staging\n/deploy production", want: commands.Deploy{Env: "production"}},
		"html comment":              {body: "<!-- /deploy staging -->\n/deploy production", want: commands.Deploy{Env: "production"}},
		"html comment lines":        {body: "<!--\n/deploy staging\n\n-->\n\n/lock production incident", want: commands.Lock{Env: "production", Args: []string{"incident"}}},
		"unclosed html comment":     {body: "<!-- template\n/deploy staging", err: "no command"},
		"pull request template":     {body: "<!-- Say what changed -->\r\n\r\n/rollback production api\r\n", want: commands.Rollback{Env: "production", App: "api"}},
		"unicode spaces split args": {body: "/deploy\u00a0staging\u2003api", want: commands.Deploy{Env: "staging", App: "api"}},

		// Other bots' commands and things that are not commands.
		"cc":             {body: "/cc @alice", err: "no command"},
		"lgtm":           {body: "/lgtm", err: "no command"},
		"assign":         {body: "/assign @bob", err: "no command"},
		"approve":        {body: "/approve", err: "no command"},
		"retest":         {body: "/retest", err: "no command"},
		"prow hold":      {body: "/hold", err: "no command"},
		"prow honk":      {body: "/honk", err: "no command"},
		"short word":     {body: "/ok", err: "no command"},
		"slash alone":    {body: "/ deploy staging", err: "no command"},
		"path":           {body: "/usr/bin/env is broken", err: "no command"},
		"longer word":    {body: "/deployment staging", err: "no command"},
		"empty":          {body: "", err: "no command"},
		"blank":          {body: " \r\n\t\n", err: "no command"},
		"only a comment": {body: "<!-- nothing -->", err: "no command"},

		// Look-alikes get a suggestion.
		"swapped letters":    {body: "/deplyo staging", err: `unknown command "/deplyo"; did you mean /deploy? Try /help`},
		"missing letter":     {body: "/rollbak staging", err: "did you mean /rollback?"},
		"two typos":          {body: "/stauts", err: "did you mean /status?"},
		"typo in short name": {body: "/hepl", err: "did you mean /help?"},
		"swap in lock":       {body: "/lcok production", err: `unknown command "/lcok"; did you mean /lock?`},
		"unlock typo":        {body: "/unlok production", err: "did you mean /unlock?"},
		"prefix":             {body: "/dep staging", err: `unknown command "/dep"; did you mean /deploy?`},
		"prefix of rollback": {body: "/roll staging", err: "did you mean /rollback?"},
		"upper-case typo":    {body: "/DEPLOI staging", err: `unknown command "/DEPLOI"; did you mean /deploy?`},
		"cyrillic e in word": {body: "/d\u0435ploy staging", err: `unknown command "/d\u0435ploy"; did you mean /deploy?`},
		"kelvin sign":        {body: "/LOC\u212a production", err: `unknown command "/LOC\u212a"; did you mean /lock?`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := commands.Parse(tc.body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tc.body, got, err, tc.err)
				}
				if got != nil {
					t.Errorf("Parse(%q) returned %#v with its error", tc.body, got)
				}
				if kind := languageErrorKind(err); kind == "" {
					t.Errorf("Parse(%q): error %T is none of ErrNoCommand, *UsageError, *UnknownCommandError", tc.body, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.body, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %#v; want %#v", tc.body, got, tc.want)
			}
			again, err := commands.Parse(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("Parse(%q) = %#v, %v; want %#v again", got.String(), again, err, got)
			}
		})
	}
}

func TestParseErrorTypes(t *testing.T) {
	tests := map[string]struct {
		body string
		want error
	}{
		"no command":         {body: "thanks!", want: commands.ErrNoCommand},
		"other bot":          {body: "/cc @alice", want: commands.ErrNoCommand},
		"usage":              {body: "/deploy", want: &commands.UsageError{Command: "deploy", Problem: "name the environment"}},
		"unknown":            {body: "/deplyo staging", want: &commands.UnknownCommandError{Word: "/deplyo", Suggestion: "/deploy"}},
		"unknown upper-case": {body: "/Stat", want: &commands.UnknownCommandError{Word: "/Stat", Suggestion: "/status"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := commands.Parse(tc.body)
			if !reflect.DeepEqual(err, tc.want) {
				t.Fatalf("Parse(%q) error = %#v; want %#v", tc.body, err, tc.want)
			}
		})
	}
}

func TestLanguageErrorMessages(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"usage":                  {err: &commands.UsageError{Command: "status", Problem: "too many arguments"}, want: "/status: too many arguments; usage: /status [env]"},
		"usage of no command":    {err: &commands.UsageError{Command: "ship", Problem: "no such thing"}, want: "/ship: no such thing"},
		"unknown":                {err: &commands.UnknownCommandError{Word: "/deplyo", Suggestion: "/deploy"}, want: `unknown command "/deplyo"; did you mean /deploy? Try /help`},
		"unknown, no guess":      {err: &commands.UnknownCommandError{Word: "/xyz"}, want: `unknown command "/xyz"; try /help`},
		"long word is shortened": {err: &commands.UnknownCommandError{Word: "/" + strings.Repeat("x", 100)}, want: `unknown command "/` + strings.Repeat("x", 38) + `\u2026"; try /help`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	blank := func(n int) string { return strings.Repeat(" ", n-1) + "\n" }
	tests := map[string]struct {
		body string
		want commands.Command
		err  string
	}{
		"line 200":                 {body: strings.Repeat("\n", 199) + "/status", want: commands.Status{}},
		"line 201":                 {body: strings.Repeat("\n", 200) + "/status", err: "no command"},
		"code blocks count":        {body: "```\n" + strings.Repeat("x\n", 200) + "```\n/status", err: "no command"},
		"within 64 KiB":            {body: strings.Repeat(blank(1000), 65) + "/status\n", want: commands.Status{}},
		"after 64 KiB":             {body: strings.Repeat(blank(1000), 66) + "/status\n", err: "no command"},
		"cut by the 64 KiB window": {body: blank(64<<10-len("/deploy prod")) + "/deploy production\n", err: "no command"},
		"ends at the window":       {body: blank(64<<10-len("/deploy production\n")) + "/deploy production\n" + strings.Repeat("x", 100), want: commands.Deploy{Env: "production"}},
		"megabytes after":          {body: "/deploy staging\n" + strings.Repeat("a log line\n", 1<<20), want: commands.Deploy{Env: "staging"}},
		"megabytes on one line":    {body: strings.Repeat("x", 8<<20) + "\n/deploy staging", err: "no command"},
		"1000 characters":          {body: "/lock production " + strings.Repeat("é", 983), want: commands.Lock{Env: "production", Args: []string{strings.Repeat("é", 983)}}},
		"1001 characters":          {body: "/lock production " + strings.Repeat("é", 984), err: "no command"},
		"trailing spaces are free": {body: "/lock production " + strings.Repeat("é", 983) + strings.Repeat(" ", 100), want: commands.Lock{Env: "production", Args: []string{strings.Repeat("é", 983)}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := commands.Parse(tc.body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse = %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestLanguageString(t *testing.T) {
	tests := map[string]struct {
		cmd  commands.Command
		name string
		want string
	}{
		"deploy":              {cmd: commands.Deploy{Env: "staging"}, name: "deploy", want: "/deploy staging"},
		"deploy app":          {cmd: commands.Deploy{Env: "staging", App: "api"}, name: "deploy", want: "/deploy staging api"},
		"rollback":            {cmd: commands.Rollback{Env: "staging"}, name: "rollback", want: "/rollback staging"},
		"rollback app":        {cmd: commands.Rollback{Env: "staging", App: "api"}, name: "rollback", want: "/rollback staging api"},
		"rollback to":         {cmd: commands.Rollback{Env: "staging", To: "abc123"}, name: "rollback", want: "/rollback staging to abc123"},
		"rollback app to":     {cmd: commands.Rollback{Env: "staging", App: "api", To: "3"}, name: "rollback", want: "/rollback staging api to 3"},
		"lock":                {cmd: commands.Lock{Env: "production"}, name: "lock", want: "/lock production"},
		"lock app and reason": {cmd: commands.Lock{Env: "production", Args: []string{"api", "incident", "42"}}, name: "lock", want: "/lock production api incident 42"},
		"unlock":              {cmd: commands.Unlock{Env: "production"}, name: "unlock", want: "/unlock production"},
		"unlock app":          {cmd: commands.Unlock{Env: "production", App: "api"}, name: "unlock", want: "/unlock production api"},
		"status":              {cmd: commands.Status{}, name: "status", want: "/status"},
		"status env":          {cmd: commands.Status{Env: "staging"}, name: "status", want: "/status staging"},
		"help":                {cmd: commands.Help{}, name: "help", want: "/help"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.cmd.String(); got != tc.want {
				t.Errorf("String() = %q; want %q", got, tc.want)
			}
			if got := tc.cmd.Name(); got != tc.name {
				t.Errorf("Name() = %q; want %q", got, tc.name)
			}
			if got, err := commands.Parse(tc.want); err != nil || !reflect.DeepEqual(got, tc.cmd) {
				t.Errorf("Parse(%q) = %#v, %v; want %#v", tc.want, got, err, tc.cmd)
			}
		})
	}
}

func TestLanguageLockSplit(t *testing.T) {
	apps := func(names ...string) func(string) bool {
		return func(name string) bool {
			for _, n := range names {
				if n == name {
					return true
				}
			}
			return false
		}
	}
	tests := map[string]struct {
		lock        commands.Lock
		isApp       func(string) bool
		app, reason string
	}{
		"app and reason":      {lock: commands.Lock{Env: "production", Args: []string{"api", "incident", "42"}}, isApp: apps("api"), app: "api", reason: "incident 42"},
		"app only":            {lock: commands.Lock{Env: "production", Args: []string{"api"}}, isApp: apps("api"), app: "api"},
		"reason only":         {lock: commands.Lock{Env: "production", Args: []string{"deploys", "are", "frozen"}}, isApp: apps("api"), reason: "deploys are frozen"},
		"nothing":             {lock: commands.Lock{Env: "production"}, isApp: apps("api")},
		"no app list":         {lock: commands.Lock{Env: "production", Args: []string{"api", "incident"}}, reason: "api incident"},
		"app later is reason": {lock: commands.Lock{Env: "production", Args: []string{"because", "api"}}, isApp: apps("api"), reason: "because api"},
		"invalid name is never an app": {
			lock:  commands.Lock{Env: "production", Args: []string{"API", "down"}},
			isApp: func(string) bool { return true }, reason: "API down",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			app, reason := tc.lock.Split(tc.isApp)
			if app != tc.app || reason != tc.reason {
				t.Errorf("Split() = %q, %q; want %q, %q", app, reason, tc.app, tc.reason)
			}
		})
	}
}

// The usage lines of errors and of /help are the same.
func TestLanguageHelpText(t *testing.T) {
	for _, body := range []string{"/deploy", "/rollback", "/lock", "/unlock", "/status a b", "/help me"} {
		var ue *commands.UsageError
		if _, err := commands.Parse(body); !errors.As(err, &ue) {
			t.Fatalf("Parse(%q) = %v; want a usage error", body, err)
		}
		_, usage, ok := strings.Cut(ue.Error(), "; usage: ")
		if !ok || !strings.Contains(commands.HelpText, "`"+usage+"`") {
			t.Errorf("HelpText lacks the usage line %q of %s", usage, body)
		}
	}
	if !strings.Contains(commands.HelpText, "**Checks** tab") {
		t.Error("HelpText does not mention the buttons in the Checks tab")
	}
}

// languageErrorKind names the kinds of error Parse may return, or returns "".
func languageErrorKind(err error) string {
	var usage *commands.UsageError
	var unknown *commands.UnknownCommandError
	switch {
	case errors.Is(err, commands.ErrNoCommand):
		return "no command"
	case errors.As(err, &usage):
		return "usage"
	case errors.As(err, &unknown):
		return "unknown command"
	}
	return ""
}
