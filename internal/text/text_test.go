package text_test

import (
	"testing"

	"github.com/auger-dev/auger/internal/text"
)

func TestShort(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"full hash": {"deae5dbaf237766240181fa397e923d3c5253112", "deae5db"},
		"seven":     {"deae5db", "deae5db"},
		"shorter":   {"dea", "dea"},
		"empty":     {"", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := text.Short(tc.in); got != tc.want {
				t.Errorf("Short(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"fits":             {"deploy", 6, "deploy"},
		"cut":              {"deployment", 6, "deplo…"},
		"runes, not bytes": {"héllo wörld", 5, "héll…"},
		"one":              {"deploy", 1, "…"},
		"zero":             {"deploy", 0, ""},
		"empty":            {"", 3, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := text.Truncate(tc.in, tc.n); got != tc.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
