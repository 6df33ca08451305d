package artifact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// PatchDocument is one document of an env config's strategicMergePatches: its place
// (1-based among the non-empty documents, and the line of the field's text it starts
// on) and the object it names.
type PatchDocument struct {
	Index, Line int
	Text        string
	APIVersion  string
	Kind        string
	Name        string
	Namespace   string
}

// String names the patch as users see it: "strategicMergePatches document 2 (line 7,
// Deployment web)".
func (d PatchDocument) String() string {
	return fmt.Sprintf("strategicMergePatches document %d (line %d, %s %s)", d.Index, d.Line, d.Kind, d.Name)
}

// SplitStrategicMergePatches splits an env config's strategicMergePatches (already
// templated) into its documents. Every document must be a mapping naming its kind and
// metadata.name; an error names the document and its line.
func SplitStrategicMergePatches(text string) ([]PatchDocument, error) {
	var docs []PatchDocument
	var errs []error
	for i, chunk := range splitYAMLDocuments(text) {
		d, err := parsePatchDocument(chunk)
		if err != nil {
			errs = append(errs, fmt.Errorf("strategicMergePatches document %d (line %d): %w", i+1, chunk.line, err))
			continue
		}
		d.Index = i + 1
		docs = append(docs, d)
	}
	return docs, errors.Join(errs...)
}

// yamlChunk is one document of a multi-document string and the line it starts on.
type yamlChunk struct {
	text string
	line int
}

// splitYAMLDocuments splits text at "---" lines, leaving out documents that hold only
// blank lines and comments; each chunk's line is that of its first content line.
func splitYAMLDocuments(text string) []yamlChunk {
	var chunks []yamlChunk
	var cur strings.Builder
	start := 1
	flush := func() {
		t := cur.String()
		cur.Reset()
		first, content := start, false
		for _, l := range strings.Split(t, "\n") {
			if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
				content = true
				break
			}
			first++
		}
		if content {
			chunks = append(chunks, yamlChunk{text: t, line: first})
		}
	}
	for i, line := range strings.SplitAfter(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "---"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			flush()
			start = i + 2
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return chunks
}

func parsePatchDocument(chunk yamlChunk) (PatchDocument, error) {
	d := PatchDocument{Line: chunk.line, Text: chunk.text}
	var obj struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
	}
	var node yaml.Node
	if err := guardYAML(func() error { return yaml.Unmarshal([]byte(chunk.text), &node) }); err != nil {
		return d, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := documentRoot(&node)
	if root == nil || root.Kind != yaml.MappingNode {
		return d, errors.New("expected a partial object (a mapping with kind and metadata.name)")
	}
	if hasAlias(root) {
		// kustomize would expand them; a few lines could become gigabytes.
		return d, errors.New("YAML aliases (*name) are not allowed in patches")
	}
	if err := root.Decode(&obj); err != nil {
		return d, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	d.APIVersion, d.Kind, d.Name, d.Namespace = obj.APIVersion, obj.Kind, obj.Metadata.Name, obj.Metadata.Namespace
	switch {
	case d.Kind == "" && d.Name == "":
		return d, errors.New("names no object: set kind and metadata.name")
	case d.Kind == "":
		return d, errors.New("has no kind")
	case d.Name == "":
		return d, fmt.Errorf("%s has no metadata.name", d.Kind)
	}
	return d, nil
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// jsonPatchOps are the operations of RFC 6902.
var jsonPatchOps = map[string]bool{"add": true, "remove": true, "replace": true, "move": true, "copy": true, "test": true}

// CheckJSONPatch checks that text (already templated) is a list of RFC 6902
// operations, each with a known op and a path.
func CheckJSONPatch(text string) error {
	var ops []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	if err := guardYAML(func() error { return dec.Decode(&ops) }); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("no operations")
		}
		return fmt.Errorf("not a list of operations: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(ops) == 0 {
		return errors.New("no operations")
	}
	for i, op := range ops {
		name, _ := op["op"].(string)
		if !jsonPatchOps[name] {
			return fmt.Errorf("operation %d: op %v is not one of add, remove, replace, move, copy, test", i+1, op["op"])
		}
		if _, ok := op["path"].(string); !ok {
			return fmt.Errorf("operation %d (%s): has no path", i+1, name)
		}
	}
	return nil
}

// validatePatches checks the patches of an env config as far as can be before
// templating: templates parse; untemplated patches are well formed.
func validatePatches(ps *problems, ec *EnvConfig, funcs template.FuncMap) {
	at := fieldPath{"strategicMergePatches"}
	if smp := ec.StrategicMergePatches; strings.Contains(smp, "{{") {
		if _, err := parseTemplate("strategicMergePatches", smp, funcs); err != nil {
			ps.add(at, "%v", err)
		}
	} else if smp != "" {
		for _, chunk := range splitYAMLDocuments(smp) {
			if _, err := parsePatchDocument(chunk); err != nil {
				*ps = append(*ps, problem{path: at, textLine: chunk.line, msg: fmt.Sprintf("document at line %d: %v", chunk.line, err)})
			}
		}
	}
	for i, p := range ec.JSON6902Patches {
		at := fieldPath{"json6902Patches", i}
		if p.Target.Kind == "" {
			ps.add(at.key("target").key("kind"), "required")
		}
		if p.Target.Name == "" {
			ps.add(at.key("target").key("name"), "required")
		}
		for _, f := range []struct{ name, value string }{
			{"group", p.Target.Group}, {"version", p.Target.Version}, {"kind", p.Target.Kind},
			{"name", p.Target.Name}, {"namespace", p.Target.Namespace},
		} {
			if strings.Contains(f.value, "{{") {
				if _, err := parseTemplate(at.key("target").key(f.name).String(), f.value, funcs); err != nil {
					ps.add(at.key("target").key(f.name), "%v", err)
				}
			}
		}
		switch {
		case strings.TrimSpace(p.Patch) == "":
			ps.add(at.key("patch"), "required: a list of JSON patch operations")
		case strings.Contains(p.Patch, "{{"):
			if _, err := parseTemplate(at.key("patch").String(), p.Patch, funcs); err != nil {
				ps.add(at.key("patch"), "%v", err)
			}
		default:
			if err := CheckJSONPatch(p.Patch); err != nil {
				ps.add(at.key("patch"), "%v", err)
			}
		}
	}
}
