package commands_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/auger-dev/auger/commands"
)

// FuzzParse checks what the handler relies on for any comment: Parse does not panic, a
// command survives being written back with String, and every error is one the handler
// knows how to answer.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"/deploy staging",
		"/deploy production api\r\n",
		"/Deploy staging api",
		"/rollback staging api to 3",
		"/rollback staging to abc123",
		"/rollback staging TO",
		"/lock production api incident 42 🎄",
		"/lock production \x1b[31m",
		"/unlock production api",
		"/status",
		"/status staging",
		"/help",
		"/help me",
		"/deplyo staging",
		"/d\u0435ploy staging",
		"/LOC\u212a production",
		"/deploy pr\u043eduction",
		"/deploy ../x",
		"/cc @alice",
		"/hold",
		"> /deploy staging\n\n/deploy production",
		"```sh\n/deploy staging\n```\n/status",
		"~~~~\n~~~\n/deploy staging\n~~~~\n/status staging",
		"```/deploy```",
		"    /deploy staging\n\t/deploy staging\n/unlock staging",
		"<!-- template\n/deploy staging\n-->\n/lock staging freeze",
		"<!-->/deploy staging",
		"please\n/deploy staging",
		"/deploy\u00a0staging\u2028api",
		"/lock staging \xff\xfe",
		"\n\n\n   /status   \n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, err := commands.Parse(body)
		if err != nil {
			if cmd != nil {
				t.Fatalf("Parse(%q) = %#v with error %v", body, cmd, err)
			}
			if languageErrorKind(err) == "" {
				t.Fatalf("Parse(%q): unexpected error %T: %v", body, err, err)
			}
			_ = err.Error()
			return
		}
		s := cmd.String()
		if !strings.HasPrefix(s, "/"+cmd.Name()) {
			t.Fatalf("Parse(%q) = %#v: String() %q does not start with /%s", body, cmd, s, cmd.Name())
		}
		for _, again := range []string{s, "\r\n  " + s + "\r\nmore text"} {
			got, err := commands.Parse(again)
			if err != nil || !reflect.DeepEqual(got, cmd) {
				t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v, %v", body, cmd, again, got, err)
			}
		}
		if l, ok := cmd.(commands.Lock); ok {
			app, reason := l.Split(func(string) bool { return true })
			if strings.TrimSpace(app+" "+reason) != strings.Join(l.Args, " ") {
				t.Fatalf("%#v.Split() = %q, %q: words lost", l, app, reason)
			}
		}
	})
}
