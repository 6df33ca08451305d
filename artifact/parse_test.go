package artifact_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/artifact"
)

func readSeed(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// genericJSON decodes JSON keeping numbers as written, for field-for-field comparisons.
func genericJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

func TestParseSeedRoundTrip(t *testing.T) {
	seed := readSeed(t)
	a, err := artifact.Parse(seed)
	if err != nil {
		t.Fatalf("Parse(seed): %v", err)
	}
	if a.Version.Event != artifact.EventPR || a.Version.SourceBranch != "new-feature" || a.Items[1].Name != "docker-image" {
		t.Errorf("parsed seed has wrong fields: %+v", a)
	}
	values := a.Environments[0].Values
	if got, ok := values["containerPort"].(int64); !ok || got != 5000 {
		t.Errorf("containerPort = %#v, want int64 5000", values["containerPort"])
	}
	if got := values["ingress"].(map[string]any)["tlsEnabled"]; got != true {
		t.Errorf("ingress.tlsEnabled = %#v, want true", got)
	}

	out, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Field for field: the same JSON document as the seed, numbers written the same.
	if want, got := genericJSON(t, seed), genericJSON(t, out); !reflect.DeepEqual(want, got) {
		t.Errorf("Marshal(Parse(seed)) differs from seed:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"containerPort": 5000,`)) {
		t.Errorf("containerPort not written as integer:\n%s", out)
	}
	if !bytes.HasSuffix(out, []byte("}\n")) || !bytes.Contains(out, []byte("\n  \"version\": {\n    \"repositoryName\"")) {
		t.Errorf("want two-space indentation and a trailing newline:\n%s", out)
	}

	again, err := artifact.Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(seed)): %v", err)
	}
	if !reflect.DeepEqual(a, again) {
		t.Errorf("Parse(Marshal(a)) != a:\n%#v\n%#v", a, again)
	}
	out2, err := again.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Errorf("Marshal is not deterministic:\n%s\n%s", out, out2)
	}
}

func TestMarshalKeepsCreatedAndNumbers(t *testing.T) {
	a := validArtifact()
	a.Created = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	a.Environments[0].Values = map[string]any{"big": int64(1) << 60, "half": 0.5, "whole": 2.0, "huge": uint64(1) << 63}
	out, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"created": "2024-05-06T07:08:09Z"`, `"big": 1152921504606846976`, `"half": 0.5`, `"whole": 2`, `"huge": 9223372036854775808`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	back, err := artifact.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"big": int64(1) << 60, "half": 0.5, "whole": int64(2), "huge": uint64(1) << 63}
	if got := back.Environments[0].Values; !reflect.DeepEqual(got, want) {
		t.Errorf("values after round trip = %#v, want %#v", got, want)
	}
	if !back.Created.Equal(a.Created) {
		t.Errorf("created = %v, want %v", back.Created, a.Created)
	}
}

func TestMarshalNilEnvironments(t *testing.T) {
	a := validArtifact()
	a.Environments = nil
	out, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"environments": []`)) {
		t.Errorf("want empty list for no environments:\n%s", out)
	}
}

func TestParseErrors(t *testing.T) {
	seed := string(readSeed(t))
	tests := map[string]struct {
		input string
		want  []string // substrings of the error, in order of the lines
	}{
		"empty":         {input: "", want: []string{"artifact: empty input"}},
		"not an object": {input: `[1]`, want: []string{"artifact: expected a JSON object, got a list"}},
		"syntax error line and column": {
			input: "{\n  \"id\": \"x\",\n  \"version\": {,}\n}",
			want:  []string{"artifact: line 3, column 15: invalid character ','"},
		},
		"truncated":     {input: "{\n  \"id\": \"x\"", want: []string{"artifact: line 2, column 12: unexpected end of input"}},
		"trailing data": {input: seed + "\n{}", want: []string{"artifact: line 23, column 1: unexpected data after the artifact"}},
		"unknown top-level field": {
			input: strings.Replace(seed, `"id":`, `"idd": "x", "id":`, 1),
			want:  []string{`unknown field "idd"; known fields: id, created, version, context, environments, items`},
		},
		"field names are case-sensitive": {
			input: strings.Replace(seed, `"repositoryName"`, `"RepositoryName"`, 1),
			want:  []string{`version: unknown field "RepositoryName"`},
		},
		"unknown nested field has index": {
			input: strings.Replace(seed, `"name": "onechart"`, `"name": "onechart", "repo": "x"`, 1),
			want:  []string{`environments[0].chart: unknown field "repo"; known fields: repository, name, version`},
		},
		"wrong kind": {
			input: strings.Replace(seed, `"version": "0.10.0"`, `"version": 0.1`, 1),
			want:  []string{`environments[0].chart.version: expected a string, got the number 0.1`},
		},
		"context values are strings": {
			input: strings.Replace(seed, `"CIRCLE_BUILD_NUM": "2254"`, `"CIRCLE_BUILD_NUM": 2254`, 1),
			want:  []string{`context.CIRCLE_BUILD_NUM: expected a string, got the number 2254`},
		},
		"bad time": {
			input: strings.Replace(seed, `"id":`, `"created": "yesterday", "id":`, 1),
			want:  []string{`created: "yesterday": not an RFC 3339 time`},
		},
		"number out of range": {
			input: strings.Replace(seed, `"replicas": 1`, `"replicas": 1e999`, 1),
			want:  []string{`environments[0].values.replicas: number 1e999 is out of range`},
		},
		"event is never defaulted": {
			input: strings.Replace(seed, `"event": "pr"`, `"event": "pull_request"`, 1),
			want:  []string{`version.event: "pull_request": must be one of push, pr, tag`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := artifact.Parse([]byte(tc.input))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", a)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}

func TestParseShapeErrorsAreValidationErrors(t *testing.T) {
	_, err := artifact.Parse([]byte(`{"id": "x", "colour": "red", "items": [{"name": "a", "url": "b", "kind": 1}]}`))
	var verr *artifact.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError, got %T: %v", err, err)
	}
	want := []artifact.Problem{
		{Path: "", Message: `unknown field "colour"; known fields: id, created, version, context, environments, items`},
		{Path: "items[0]", Message: `unknown field "kind"; known fields: name, url`},
	}
	if !reflect.DeepEqual(verr.Problems, want) {
		t.Errorf("problems = %#v, want %#v", verr.Problems, want)
	}
}
