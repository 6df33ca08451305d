package manifests

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/chartrepo"
)

// Values are checked against the chart's values.schema.json (onechart's shape), merged
// with the chart's defaults as Helm does, and every violation says where it is.
func TestSchemaViolations(t *testing.T) {
	tests := map[string]struct {
		values map[string]any
		want   []string // path: message
	}{
		"control: valid":              {values: map[string]any{"replicas": json.Number("3"), "image": map[string]any{"tag": "abc"}}},
		"defaults fill what is unset": {values: map[string]any{}},
		"wrong types and bounds": {
			values: map[string]any{"replicas": json.Number("20"), "containerPort": "http", "image": map[string]any{"tag": json.Number("1.5")}},
			want: []string{
				"containerPort: got string, want integer",
				"image.tag: got number, want string",
				"replicas: maximum: got 20, want 16",
			},
		},
		"enum": {
			values: map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}},
			want:   []string{`image.pullPolicy: value must be one of 'Always', 'IfNotPresent', 'Never'`},
		},
		"a required field set to null": {
			values: map[string]any{"probe": map[string]any{"path": nil}},
			want:   []string{"probe.path: required by the chart's values.schema.json"},
		},
	}
	r := newRenderer(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ec := artifact.EnvConfig{App: "web", Env: "staging", Namespace: "staging", Chart: artifact.Chart{Name: chartrepo.AppChart(t)}, Values: tc.values}
			_, err := r.Render(context.Background(), ec, testRelease)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SchemaError", err)
			}
			var got []string
			for _, v := range se.Violations {
				got = append(got, strings.Join(v.Path, ".")+": "+v.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("violations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !strings.Contains(err.Error(), "values.schema.json of chart app") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// A schema that refers elsewhere is not followed: no file is read, no URL fetched.
func TestSchemaRefersNowhere(t *testing.T) {
	for _, ref := range []string{"file:///etc/hostname", "http://127.0.0.1:1/schema.json"} {
		ch := loadTestChart(t, chartrepo.AppChart(t))
		ch.Schema = []byte(`{"type": "object", "properties": {"image": {"$ref": "` + ref + `"}}}`)
		err := validateSchema(ch, map[string]any{})
		if err == nil || !strings.Contains(err.Error(), ref) {
			t.Errorf("%s: err = %v, want a refusal naming it", ref, err)
		}
	}
}

func loadTestChart(t *testing.T, dir string) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
