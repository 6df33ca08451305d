package artifact

import (
	"strings"
	"testing"
	"time"
)

// The deadline is the backstop for CPU that the other limits do not count (builtins
// such as eq on long strings); a test cannot wait five seconds, so it moves the clock.
func TestRendererDeadline(t *testing.T) {
	for name, text := range map[string]string{
		"function call": `{{ upper "x" }}`,
		"loop":          `{{ range 3 }}{{ end }}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := newRenderer()
			r.deadline = time.Now().Add(-time.Second)
			var ps problems
			r.render(fieldPath{"manifests"}, text, map[string]string{}, &ps)
			if len(ps) != 1 || !strings.Contains(ps[0].msg, "ran longer than 5s") {
				t.Errorf("problems = %+v, want the deadline", ps)
			}
		})
	}
}

// Every sprig function left in the map must be metered: a function that escaped the
// wrapper would escape the limits too.
func TestFuncMapIsMetered(t *testing.T) {
	r := newRenderer()
	for _, name := range removedFuncs {
		if _, ok := r.funcs[name]; ok {
			t.Errorf("%s is still available", name)
		}
	}
	for _, name := range []string{"sanitizeDNSName", "upper", "toJson", "printf", "until", "join", "split", "uniq", "wrapWith"} {
		if _, ok := r.funcs[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
	before := r.generated
	var ps problems
	r.render(fieldPath{"x"}, `{{ repeat 1000 "x" | upper }}`, map[string]string{}, &ps)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if r.generated-before < 2000 {
		t.Errorf("generated went from %d to %d; want both calls charged", before, r.generated)
	}
}
