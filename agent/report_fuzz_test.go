package agent_test

import (
	"encoding/json"
	"testing"

	"github.com/auger-dev/auger/agent"
)

// FuzzDecodeReport: whatever an agent (or an attacker with a token) sends, decoding
// never panics, and an accepted report encodes and decodes to itself.
func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"auger.dev/v1","env":"staging","releases":[{"app":"web","namespace":"shop","release":"a/b-1","repository":"a/b","sha":"deae5db","phase":"failed","reason":"CrashLoop","pods":[{"name":"p","phase":"Running","exitCode":1}]}]}`))
	f.Add([]byte(`{"apiVersion":"auger.dev/v1","env":"staging","full":true,"releases":[]}`))
	f.Add([]byte(`{"apiVersion":"auger.dev/v9"}`))
	f.Add([]byte(`{"apiVersion":"auger.dev/v1","env":"x"} {}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := agent.DecodeReport(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted report does not encode: %v", err)
		}
		if _, err := agent.DecodeReport(again); err != nil {
			t.Fatalf("accepted report does not decode again: %v\n%s", err, again)
		}
	})
}
