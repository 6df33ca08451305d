package artifact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/auger-dev/auger/internal/text"
)

// maxEnvConfigFile caps one .auger/ file; env configs are a screen or two of YAML.
const maxEnvConfigFile = 1 << 20

// ParseEnvConfigs reads one .auger/ file: one env config per YAML document (separated
// by "---"; empty documents are skipped). It is strict, and every problem comes back
// at once in a *ValidationError whose problems carry file and line: unknown fields
// (with the known ones), YAML syntax, wrong kinds, and the rules of EnvConfig.Validate.
// Values are decoded to JSON-compatible types (see normalizeValue). Each config's File
// is set to file.
func ParseEnvConfigs(file string, data []byte) ([]EnvConfig, error) {
	docs, ps := parseEnvConfigDocs(file, data)
	if len(ps) > 0 {
		return nil, asError(ps)
	}
	configs := make([]EnvConfig, len(docs))
	for i, d := range docs {
		configs[i] = d.config
	}
	return configs, nil
}

// IsEnvConfigFile tells whether a file of an env config folder (.auger/) holds env
// configs: .yaml and .yml files do; any other file there (a README, notes) is never
// read, wherever the folder is read from.
func IsEnvConfigFile(name string) bool {
	ext := path.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// EnvConfigFile is one file of an env config folder, read from disk or from GitHub:
// its path as shown to users (".auger/staging.yaml") and its content.
type EnvConfigFile struct {
	Path    string
	Content []byte
}

// ParseEnvConfigDir parses the files of one env config folder, in the order given (name
// order, as a folder is listed): the rules of the folder, the same for the server, the
// CLI and every use case. Files that are not env config files (IsEnvConfigFile) are
// skipped. A file with any problem (YAML, fields, rules, over 1 MiB) gives no env
// config; an env config for the same app and env as one before it, in the same file or
// another, is a problem and is left out. It returns the valid env configs and every
// problem, with file and line.
func ParseEnvConfigDir(files []EnvConfigFile) ([]EnvConfig, []Problem) {
	var docs []envConfigDoc
	var ps []Problem
	for _, f := range files {
		if !IsEnvConfigFile(f.Path) {
			continue
		}
		fileDocs, filePs := parseEnvConfigDocs(f.Path, f.Content)
		ps = append(ps, filePs...)
		if len(filePs) == 0 {
			docs = append(docs, fileDocs...)
		}
	}
	dropped := map[int]bool{}
	for _, d := range duplicateDocs(docs) {
		ps = append(ps, duplicateProblem(docs, d))
		dropped[d.second] = true
	}
	var configs []EnvConfig
	for i, d := range docs {
		if !dropped[i] {
			configs = append(configs, d.config)
		}
	}
	return configs, ps
}

// LoadEnvConfigDir reads an env config folder from disk (`auger artifact add --env-dir`)
// with the rules of ParseEnvConfigDir: dir/*.yaml and dir/*.yml in name order (symbolic
// links and other non-regular files are ignored). File is the path relative to dir's
// parent, as in ".auger/staging.yaml". Problems in all files come back together, in a
// *ValidationError.
func LoadEnvConfigDir(dir string) ([]EnvConfig, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load env configs from %s: %w", dir, err)
	}
	base := filepath.Base(abs)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s/ folder in %s: %w", base, filepath.Dir(abs), err)
	}
	if err != nil {
		return nil, fmt.Errorf("load env configs from %s: %w", dir, err)
	}
	var files []EnvConfigFile
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsEnvConfigFile(e.Name()) {
			continue
		}
		data, err := readLimited(filepath.Join(dir, e.Name()), maxEnvConfigFile)
		if err != nil {
			return nil, err
		}
		files = append(files, EnvConfigFile{Path: base + "/" + e.Name(), Content: data})
	}
	configs, ps := ParseEnvConfigDir(files)
	if len(ps) > 0 {
		return nil, asError(ps)
	}
	return configs, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read env config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read env config %s: %w", path, err)
	}
	return data, nil // parseEnvConfigDocs reports a file over the limit
}

// envConfigDoc is a decoded env config with the YAML it came from, for line numbers.
type envConfigDoc struct {
	config EnvConfig
	root   *yaml.Node
}

func parseEnvConfigDocs(file string, data []byte) ([]envConfigDoc, []Problem) {
	if len(data) > maxEnvConfigFile {
		return nil, []Problem{{File: file, Message: fmt.Sprintf("larger than %d bytes", maxEnvConfigFile)}}
	}
	var docs []envConfigDoc
	var ps []Problem
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := guardYAML(func() error { return dec.Decode(&doc) })
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The decoder cannot go on after a syntax error. The library leaves out the
			// line when it is the first one.
			ps = append(ps, yamlErrorProblems(file, 1, err)...)
			break
		}
		root := documentRoot(&doc)
		if root == nil {
			continue
		}
		plainTimestampsAsStrings(root)
		ec, docPs := decodeEnvConfig(file, root)
		ps = append(ps, docPs...)
		if len(docPs) == 0 {
			docs = append(docs, envConfigDoc{config: ec, root: root})
		}
	}
	for _, d := range duplicateDocs(docs) {
		ps = append(ps, duplicateProblem(docs, d))
	}
	return docs, ps
}

// guardYAML turns a panic of the YAML library into an error: the input comes from app
// repositories, and one bad file must not take the server down.
func guardYAML(decode func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot read this document (%v)", r)
		}
	}()
	return decode()
}

// documentRoot returns the top node of a document, or nil for an empty one.
func documentRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil
	}
	return root
}

// plainTimestampsAsStrings makes "date: 2024-01-02" the string "2024-01-02", as Helm
// reads values, instead of a time that would come back as "2024-01-02T00:00:00Z". An
// explicit !!timestamp tag is left alone. Aliases are not followed: their targets are
// in the tree too.
func plainTimestampsAsStrings(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" && n.Style&yaml.TaggedStyle == 0 {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		plainTimestampsAsStrings(c)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func decodeEnvConfig(file string, root *yaml.Node) (EnvConfig, []Problem) {
	var ec EnvConfig
	if root.Kind != yaml.MappingNode {
		return ec, []Problem{{File: file, Line: root.Line, Message: fmt.Sprintf(
			"expected a mapping of env config fields (%s), got %s", fieldNames(yamlFields(reflect.TypeFor[EnvConfig]())), nodeKind(root))}}
	}
	shape := shapeChecker{file: file, merged: map[mergedMapping]bool{}}
	shape.check(root, reflect.TypeFor[EnvConfig](), fieldPath{})
	ps := shape.ps
	if len(ps) > 0 {
		return ec, ps
	}
	if err := guardYAML(func() error { return root.Decode(&ec) }); err != nil {
		return ec, yamlErrorProblems(file, root.Line, err)
	}
	var vps problems
	if ec.Values != nil {
		ec.Values, _ = normalizeValue(fieldPath{"values"}, ec.Values, &vps).(map[string]any)
	}
	ec.File = file
	ec.source = root
	vps = append(vps, validateEnvConfig(&ec, newRenderer().funcs)...)
	for _, p := range vps {
		line := lineOf(root, p.path)
		if p.textLine > 0 {
			line = ec.TextLine(p.textLine, p.path...)
		}
		ps = append(ps, Problem{File: file, Line: line, Path: p.path.String(), Message: p.msg})
	}
	return ec, ps
}

// shapeChecker checks field names and node kinds against the Go type, reporting each
// problem at its line. Values (map[string]any) are not descended into.
type shapeChecker struct {
	file string
	ps   []Problem
	// merged holds the mappings already checked through a "<<" merge key, so that a
	// mapping merged many times (or into itself) is looked at once.
	merged map[mergedMapping]bool
}

type mergedMapping struct {
	node *yaml.Node
	typ  reflect.Type
}

func (c *shapeChecker) add(line int, at fieldPath, format string, args ...any) {
	c.ps = append(c.ps, Problem{File: c.file, Line: line, Path: at.String(), Message: fmt.Sprintf(format, args...)})
}

func (c *shapeChecker) check(n *yaml.Node, t reflect.Type, at fieldPath) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(n.Line, at, "expected a mapping, got %s", nodeKind(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				for _, m := range mergedNodes(v) {
					if m.Kind == yaml.AliasNode && m.Alias != nil {
						m = m.Alias
					}
					if key := (mergedMapping{m, t}); !c.merged[key] {
						c.merged[key] = true
						c.check(m, t, at)
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				c.add(k.Line, at, "expected a field name, got %s", nodeKind(k))
				continue
			}
			f := -1
			for j := range fields {
				if fields[j].name == k.Value {
					f = j
				}
			}
			if f < 0 {
				c.add(k.Line, at, "unknown field %q; known fields: %s", k.Value, fieldNames(fields))
				continue
			}
			c.check(v, fields[f].typ, at.key(k.Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(n.Line, at, "expected a list, got %s", nodeKind(n))
			return
		}
		for i, e := range n.Content {
			c.check(e, t.Elem(), at.index(i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(n.Line, at, "expected a mapping, got %s", nodeKind(n))
		}
	case reflect.String, reflect.Bool:
		if n.Kind != yaml.ScalarNode {
			c.add(n.Line, at, "expected a single value, got %s", nodeKind(n))
		}
	}
}

// mergedNodes returns what a "<<" key merges: a mapping, or a list of them.
func mergedNodes(v *yaml.Node) []*yaml.Node {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return []*yaml.Node{v}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", text.Truncate(n.Value, 40))
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}

// Line returns the line of the env config's file that sets the value at path (object
// keys as strings, list indices as ints: "values", "image", "tag"), or of the closest
// parent that is set; 0 when the config was not read from a file (an artifact's JSON).
func (ec EnvConfig) Line(path ...any) int {
	if ec.source == nil {
		return 0
	}
	return lineOf(ec.source, fieldPath(path))
}

// TextLine returns the line of the env config's file that holds line n (1-based) of the
// multi-line string at path (manifests, strategicMergePatches): exact for a block
// scalar ("|"), the field's own line otherwise; 0 when the config was not read from a
// file.
func (ec EnvConfig) TextLine(n int, path ...any) int {
	line := ec.Line(path...)
	if line == 0 || n < 1 {
		return line
	}
	if v := valueAt(ec.source, fieldPath(path)); v != nil && v.Kind == yaml.ScalarNode && (v.Style&(yaml.LiteralStyle|yaml.FoldedStyle)) != 0 {
		return v.Line + n
	}
	return line
}

// valueAt returns the node at path, or nil when it is not set.
func valueAt(root *yaml.Node, path fieldPath) *yaml.Node {
	n := root
	for _, el := range path {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch el := el.(type) {
		case string:
			var next *yaml.Node
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == el {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return nil
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || el < 0 || el >= len(n.Content) {
				return nil
			}
			n = n.Content[el]
		default:
			return nil
		}
	}
	return n
}

// lineOf finds the line of the value at path, or of the closest parent that exists
// (a missing required field is reported where its mapping starts).
func lineOf(root *yaml.Node, path fieldPath) int {
	n, line := root, root.Line
	for _, el := range path {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch el := el.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == el {
					next, line = n.Content[i+1], k.Line
				}
			}
			if next == nil {
				return line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || el >= len(n.Content) {
				return line
			}
			n = n.Content[el]
			line = n.Line
		}
	}
	return line
}

// yamlLinePattern splits "yaml: line 3: message" and "line 3: message".
var yamlLinePattern = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlParserMessages are the errors of the YAML parser (as opposed to its scanner).
// The library reports their line counting from 0 (the line where the unfinished
// mapping or list starts), and leaves the line out when that is the first line.
var yamlParserMessages = []string{
	"did not find expected key", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected ',' or ']'",
	"did not find expected ',' or '}'", "did not find expected <document start>",
	"did not find expected <stream-start>", "found duplicate %YAML directive",
	"found duplicate %TAG directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// yamlErrorProblems turns a YAML library error into problems with lines; fallbackLine
// is used when the message has none.
func yamlErrorProblems(file string, fallbackLine int, err error) []Problem {
	var messages []string
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		messages = typeErr.Errors
	} else {
		messages = []string{err.Error()}
	}
	ps := make([]Problem, 0, len(messages))
	for _, msg := range messages {
		p := Problem{File: file, Line: fallbackLine, Message: msg}
		line := 0
		if m := yamlLinePattern.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
		}
		p.Message = strings.TrimPrefix(p.Message, "yaml: ")
		if slices.Contains(yamlParserMessages, p.Message) {
			line++
		}
		if line > 0 {
			p.Line = line
		}
		ps = append(ps, p)
	}
	return ps
}

// duplicateDocs finds env configs that would write the same gitops folder.
func duplicateDocs(docs []envConfigDoc) []duplicate {
	configs := make([]EnvConfig, len(docs))
	for i, d := range docs {
		configs[i] = d.config
	}
	return duplicateEnvConfigs(configs)
}

func duplicateProblem(docs []envConfigDoc, d duplicate) Problem {
	first, second := docs[d.first], docs[d.second]
	return Problem{
		File: second.config.File, Line: second.root.Line,
		Message: fmt.Sprintf("same app %q and env %q as %s:%d", d.app, d.env, first.config.File, first.root.Line),
	}
}
