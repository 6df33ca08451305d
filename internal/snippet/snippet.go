// Package snippet reads the code blocks a document marks for tests, so that what the README
// tells users to write and run is what the tests write and run.
//
// A snippet is the fenced block right after a marker line:
//
//	<!-- snippet: name -->
//	```yaml
//	...
//	```
package snippet

import (
	"os"
	"regexp"
	"testing"
)

// Get returns the body of the fenced block marked name in the file at path, failing the test
// when there is none.
func Get(t testing.TB, path, name string) string {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- snippet: " + regexp.QuoteMeta(name) + " -->\n```[a-z]*\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("%s has no snippet %q", path, name)
	}
	return string(m[1])
}
