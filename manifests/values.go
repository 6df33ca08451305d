package manifests

import (
	"encoding/json"
	"fmt"
)

// normalizeValues returns a deep copy of values that Helm's templates print as YAML would
// have them: json.Number (artifacts are decoded with UseNumber) becomes int64 when it is
// an integer and float64 otherwise, so `{{ .Values.replicas }}` prints 2, not "2"; maps
// with non-string keys (from YAML decoders) get string keys.
func normalizeValues(values map[string]any) (map[string]any, error) {
	out, err := normalize(values, "values")
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func normalize(v any, at string) (any, error) {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s: number %s: %w", at, v, err)
		}
		return f, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			n, err := normalize(e, at+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			key := fmt.Sprint(k)
			n, err := normalize(e, at+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			n, err := normalize(e, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	default:
		return v, nil
	}
}
