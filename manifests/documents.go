package manifests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// document is one parsed YAML document and where it came from.
type document struct {
	// source names the origin in messages: the template ("web/templates/service.yaml") or
	// the raw manifests document ("manifests document 2 (line 14)").
	source string
	obj    map[string]any // nil for an empty document
}

// ManifestsError reports an invalid YAML document in an env config's raw manifests
// (artifact.EnvConfig.Manifests), so that callers can point at the line.
type ManifestsError struct {
	Document int   // 1-based, counting the non-empty documents
	Line     int   // 1-based line of EnvConfig.Manifests at fault
	Err      error // what is wrong
}

func (e *ManifestsError) Error() string {
	return fmt.Sprintf("manifests document %d, line %d: %v", e.Document, e.Line, e.Err)
}

func (e *ManifestsError) Unwrap() error { return e.Err }

// parseDocument parses one YAML document as kubectl does (YAML to JSON), keeping numbers
// exactly as written.
func parseDocument(text string) (map[string]any, error) {
	var obj map[string]any
	err := yaml.Unmarshal([]byte(text), &obj, func(d *json.Decoder) *json.Decoder {
		d.UseNumber()
		return d
	})
	return obj, err
}

// splitRendered splits the output of one template into documents.
func splitRendered(template, content string) ([]document, error) {
	split := releaseutil.SplitManifests(content)
	keys := make([]string, 0, len(split))
	for k := range split {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var docs []document
	for i, k := range keys {
		obj, err := parseDocument(split[k])
		if err != nil {
			return nil, fmt.Errorf("%s: rendered document %d: %w", template, i+1, err)
		}
		items, err := expandList(obj, template)
		if err != nil {
			return nil, err
		}
		docs = append(docs, items...)
	}
	return docs, nil
}

var yamlLine = regexp.MustCompile(`yaml: line (\d+): (.*)$`)

// splitRaw splits an env config's raw manifests into documents, keeping track of lines.
func splitRaw(manifests string) ([]document, error) {
	var docs []document
	var cur strings.Builder
	start, n := 1, 0 // first line of the current document; documents seen
	flush := func() error {
		text := cur.String()
		cur.Reset()
		if strings.TrimSpace(text) == "" {
			return nil
		}
		n++
		first := start + leadingBlankLines(text)
		obj, err := parseDocument(text)
		if err != nil {
			e := &ManifestsError{Document: n, Line: first, Err: err}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				l, _ := strconv.Atoi(m[1])
				e.Line, e.Err = start+l-1, fmt.Errorf("%s", m[2])
			}
			return e
		}
		if obj == nil {
			return nil // only comments
		}
		items, err := expandList(obj, fmt.Sprintf("manifests document %d (line %d)", n, first))
		if err != nil {
			return &ManifestsError{Document: n, Line: first, Err: err}
		}
		docs = append(docs, items...)
		return nil
	}
	lines := strings.SplitAfter(manifests, "\n")
	for i, line := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "---"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			if err := flush(); err != nil {
				return nil, err
			}
			start = i + 1
			cur.WriteString("   " + rest + "\n") // keeps line and column numbers
			continue
		}
		cur.WriteString(line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// leadingBlankLines counts the blank and comment lines that open text.
func leadingBlankLines(text string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		n++
	}
	return n
}

// expandList turns a kind: List document into its items, as kubectl does; other
// documents are returned as they are.
func expandList(obj map[string]any, source string) ([]document, error) {
	if obj == nil {
		return nil, nil
	}
	if kind, _ := obj["kind"].(string); kind != "List" {
		return []document{{source: source, obj: obj}}, nil
	}
	items, ok := obj["items"].([]any)
	if !ok && obj["items"] != nil {
		return nil, fmt.Errorf("%s: List items are not a list", source)
	}
	docs := make([]document, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: List item %d is not an object", source, i+1)
		}
		docs = append(docs, document{source: source, obj: m})
	}
	return docs, nil
}
