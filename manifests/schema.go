package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// SchemaViolation is one way an env config's values break the chart's
// values.schema.json: Path is where, as keys inside values ("image", "tag"; list
// indices as their digits), Message what.
type SchemaViolation struct {
	Path    []string
	Message string
}

// SchemaError lists every violation of the chart's values.schema.json by the values
// (merged with the chart's defaults, as Helm validates them), so callers can put each
// on the env config line that set the value.
type SchemaError struct {
	Chart      string
	Violations []SchemaViolation
}

func (e *SchemaError) Error() string {
	lines := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		lines[i] = "values." + strings.Join(v.Path, ".") + ": " + v.Message
		if len(v.Path) == 0 {
			lines[i] = "values: " + v.Message
		}
	}
	return fmt.Sprintf("values do not match the values.schema.json of chart %s: %s", e.Chart, strings.Join(lines, "; "))
}

// validateSchema checks values against ch's values.schema.json, as `helm install`
// would, but with every violation placed. The schema may refer to nothing outside
// itself: Auger fetches no URL and reads no file a chart names.
func validateSchema(ch *chart.Chart, values map[string]any) error {
	if len(ch.Schema) == 0 {
		return nil
	}
	merged, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ch.Schema))
	if err != nil {
		return fmt.Errorf("chart %s: values.schema.json: %w", ch.Name(), err)
	}
	const url = "file:///values.schema.json"
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no file, no network
	if err := c.AddResource(url, doc); err != nil {
		return fmt.Errorf("chart %s: values.schema.json: %w", ch.Name(), err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		return fmt.Errorf("chart %s: values.schema.json: %w", ch.Name(), err)
	}
	err = schema.Validate(map[string]any(merged))
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	se := &SchemaError{Chart: ch.Name()}
	collectViolations(ve, se, message.NewPrinter(language.English))
	slices.SortStableFunc(se.Violations, func(a, b SchemaViolation) int {
		return strings.Compare(strings.Join(a.Path, "\x00"), strings.Join(b.Path, "\x00"))
	})
	return se
}

// collectViolations gathers the leaves of a validation error tree: the causes that
// say what is wrong rather than which group of rules failed.
func collectViolations(ve *jsonschema.ValidationError, se *SchemaError, p *message.Printer) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectViolations(c, se, p)
		}
		return
	}
	path := slices.Clone(ve.InstanceLocation)
	if req, ok := ve.ErrorKind.(*kind.Required); ok && len(req.Missing) == 1 {
		// Placed on the missing field, whose line falls back to its parent's.
		path = append(path, req.Missing[0])
		se.Violations = append(se.Violations, SchemaViolation{Path: path, Message: "required by the chart's values.schema.json"})
		return
	}
	se.Violations = append(se.Violations, SchemaViolation{Path: path, Message: ve.ErrorKind.LocalizedString(p)})
}
