package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auger-dev/auger/internal/text"
)

// Parse reads an artifact in the seed JSON format and validates it. It is strict: an
// unknown or misspelt field (json's usual case-insensitive matching included) is an
// error naming it, a syntax error gives line and column, and numbers in values come
// back as int64 when they are whole (float64 otherwise), so 5000 stays 5000.
func Parse(data []byte) (*Artifact, error) {
	// First pass: generic, for syntax errors with positions and for field-by-field
	// checks with exact paths (encoding/json names neither index nor case mistakes).
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonSyntaxError(data, dec, err)
	}
	if end := skipSpace(data, dec.InputOffset()); end < int64(len(data)) {
		line, col := lineCol(data, end)
		return nil, fmt.Errorf("artifact: line %d, column %d: unexpected data after the artifact", line, col)
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, fmt.Errorf("artifact: expected a JSON object, got %s", jsonKind(raw))
	}
	var ps problems
	checkJSONShape(raw, reflect.TypeFor[Artifact](), fieldPath{}, &ps)
	if len(ps) > 0 {
		return nil, asError(ps.inArtifact())
	}

	// Second pass: typed. The first pass checked every field, so this cannot fail on
	// shape; the strict options stay as a second line of defence.
	var a Artifact
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	for i := range a.Environments {
		at := fieldPath{"environments", i, "values"}
		if a.Environments[i].Values != nil {
			v := normalizeValue(at, a.Environments[i].Values, &ps)
			a.Environments[i].Values, _ = v.(map[string]any)
		}
	}
	if len(ps) > 0 {
		return nil, asError(ps.inArtifact())
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// Marshal writes the artifact as indented JSON (two spaces) with a trailing newline.
// The output is deterministic: fields in declaration order, map keys sorted.
func (a *Artifact) Marshal() ([]byte, error) {
	if a == nil {
		return nil, errors.New("marshal artifact: no artifact")
	}
	out := *a
	if out.Environments == nil {
		out.Environments = []EnvConfig{} // "environments": [] rather than null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages and URLs stay readable
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("marshal artifact %s: %w", a.ID, err)
	}
	return buf.Bytes(), nil
}

// jsonSyntaxError places a decoding error at its line and column.
func jsonSyntaxError(data []byte, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("artifact: empty input")
	}
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read including the offending one.
		line, col := lineCol(data, max(syntax.Offset-1, 0))
		return fmt.Errorf("artifact: line %d, column %d: %w", line, col, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("artifact: line %d, column %d: unexpected end of input", line, col)
	default:
		line, col := lineCol(data, dec.InputOffset())
		return fmt.Errorf("artifact: line %d, column %d: %w", line, col, err)
	}
}

// lineCol turns a byte offset into a 1-based line and column (in characters).
func lineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

func skipSpace(data []byte, offset int64) int64 {
	for offset < int64(len(data)) && strings.IndexByte(" \t\r\n", data[offset]) >= 0 {
		offset++
	}
	return offset
}

var timeType = reflect.TypeFor[time.Time]()

// checkJSONShape compares a generically decoded JSON value with the Go type it will be
// decoded into: exact field names, and the JSON kind of every value. null is accepted
// wherever Go accepts it (it leaves the zero value).
func checkJSONShape(v any, t reflect.Type, at fieldPath, ps *problems) {
	if v == nil {
		return
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			ps.add(at, "expected a time like \"2006-01-02T15:04:05Z\", got %s", jsonKind(v))
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			ps.add(at, "%q: not an RFC 3339 time like \"2006-01-02T15:04:05Z\"", s)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkJSONShape(v, t.Elem(), at, ps)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			ps.add(at, "expected an object, got %s", jsonKind(v))
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			i := slices.IndexFunc(fields, func(f field) bool { return f.name == k })
			if i < 0 {
				ps.add(at, "unknown field %q; known fields: %s", k, fieldNames(fields))
				continue
			}
			checkJSONShape(obj[k], fields[i].typ, at.key(k), ps)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			ps.add(at, "expected a list, got %s", jsonKind(v))
			return
		}
		for i, e := range list {
			checkJSONShape(e, t.Elem(), at.index(i), ps)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			ps.add(at, "expected an object, got %s", jsonKind(v))
			return
		}
		if t.Elem().Kind() == reflect.Interface {
			return // values: anything JSON goes
		}
		for _, k := range sortedKeys(obj) {
			checkJSONShape(obj[k], t.Elem(), at.key(k), ps)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			ps.add(at, "expected a string, got %s", jsonKind(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			ps.add(at, "expected true or false, got %s", jsonKind(v))
		}
	}
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", text.Truncate(v, 40))
	case json.Number:
		return "the number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprintf("%T", v)
	}
}

// field is a struct field as it is named in JSON or YAML.
type field struct {
	name string
	typ  reflect.Type
}

// jsonFields lists t's fields by their JSON names, in declaration order.
func jsonFields(t reflect.Type) []field { return taggedFields(t, "json") }

// yamlFields lists t's fields by their YAML names, in declaration order.
func yamlFields(t reflect.Type) []field { return taggedFields(t, "yaml") }

func taggedFields(t reflect.Type, key string) []field {
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get(key), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{name: name, typ: f.Type})
	}
	return fields
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// normalizeValue makes a values tree JSON-compatible with one representation per kind:
// map[string]any, []any, string, bool, nil, int64 for whole numbers (uint64 beyond
// int64), float64 otherwise. JSON and YAML input then give the same Go values, and an
// artifact survives Marshal and Parse unchanged.
func normalizeValue(at fieldPath, v any, ps *problems) any {
	switch v := v.(type) {
	case nil, string, bool:
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalizeValue(at.key(k), e, ps)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			key, ok := scalarKey(k)
			if !ok {
				ps.add(at, "key %v is not a string, number or boolean", k)
				continue
			}
			if _, dup := out[key]; dup {
				ps.add(at, "key %q appears twice (once not as a string)", key)
				continue
			}
			out[key] = normalizeValue(at.key(key), e, ps)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeValue(at.index(i), e, ps)
		}
		return out
	case json.Number:
		n, err := normalizeNumber(string(v))
		if err != nil {
			ps.add(at, "%v", err)
		}
		return n
	case int:
		return int64(v)
	case int64:
		return v
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			ps.add(at, "%v is not a number JSON can hold", v)
			return nil
		}
		return wholeToInt(v)
	case time.Time:
		// Only an explicit !!timestamp tag gets here; plain dates stay strings.
		return v.Format(time.RFC3339Nano)
	default:
		ps.add(at, "unsupported value of type %T", v)
		return nil
	}
}

// normalizeNumber parses a JSON number literal.
func normalizeNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %s is out of range", text.Truncate(s, 40))
	}
	return wholeToInt(f), nil
}

// wholeToInt turns 2.0 into 2 (and 1e19 into a uint64), so that a number has the same
// Go type after JSON wrote it as "2" and read it back.
func wholeToInt(f float64) any {
	switch {
	case f != math.Trunc(f):
		return f
	case f >= -(1<<63) && f < 1<<63:
		return int64(f)
	case f >= 0 && f < 1<<64:
		return uint64(f)
	default:
		return f
	}
}

func scalarKey(k any) (string, bool) {
	switch k := k.(type) {
	case string:
		return k, true
	case bool:
		return strconv.FormatBool(k), true
	case int:
		return strconv.Itoa(k), true
	case int64:
		return strconv.FormatInt(k, 10), true
	case uint64:
		return strconv.FormatUint(k, 10), true
	case float64:
		return strconv.FormatFloat(k, 'g', -1, 64), true
	case nil:
		return "null", true
	default:
		return "", false
	}
}
