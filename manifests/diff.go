package manifests

import (
	"bytes"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"
)

// ChangeKind says how one object differs between what a gitops folder holds and a
// new rendering.
type ChangeKind string

// The kinds of change Compare reports.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one object that a release would add, remove or change: File is its file
// name ("deployment-web.yaml"), Diff the unified diff of its YAML (for a change; the
// whole object, as added or removed lines, otherwise).
type Change struct {
	File string     `json:"file"`
	Kind ChangeKind `json:"kind"`
	Diff string     `json:"diff"`
}

// Compare tells the objects of a new rendering (after) from those a gitops folder holds
// (before), by file name, in name order. What changes with every release without
// meaning anything is left out of the comparison: Helm's "checksum/..." annotations
// (they change when anything they hash does, which shows in that object itself) and
// Auger's release annotations (the artifact and commit), so only real changes show.
func Compare(before, after map[string][]byte) []Change {
	names := make([]string, 0, len(before)+len(after))
	for name := range before {
		names = append(names, name)
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var changes []Change
	for _, name := range names {
		old, hadOld := before[name]
		cur, hasNew := after[name]
		a, b := "", ""
		kind := Changed
		switch {
		case !hadOld:
			kind, b = Added, comparable(cur)
		case !hasNew:
			kind, a = Removed, comparable(old)
		default:
			a, b = comparable(old), comparable(cur)
			if a == b {
				continue
			}
		}
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: lines(a), B: lines(b),
			FromFile: "a/" + name, ToFile: "b/" + name, Context: 3,
		})
		changes = append(changes, Change{File: name, Kind: kind, Diff: diff})
	}
	return changes
}

// lines splits text for the diff; no text is no lines (difflib would make it one).
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return difflib.SplitLines(text)
}

// comparable is an object's YAML without the annotations Compare ignores, otherwise
// exactly as the file has it: the lines of those annotations are taken out (and an
// annotations: line left empty). One parse per object and no encoding, since /diff
// compares every object of an app. A file that does not parse is compared as it is;
// one whose annotations are not written one per line (Auger writes them so) is
// re-encoded.
func comparable(data []byte) string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return string(data)
	}
	drop := map[int]bool{}
	if !volatileLines(doc.Content[0], drop) {
		dropVolatile(doc.Content[0])
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return string(data)
		}
		return buf.String()
	}
	if len(drop) == 0 {
		return string(data)
	}
	var b strings.Builder
	for i, line := range strings.SplitAfter(string(data), "\n") {
		if !drop[i+1] {
			b.WriteString(line)
		}
	}
	return b.String()
}

// isVolatile tells the annotations Compare ignores.
func isVolatile(key string) bool {
	return strings.HasPrefix(key, "checksum/") || key == AnnotationRelease || key == AnnotationSHA || key == AnnotationRepository
}

// volatileLines collects the lines of the ignored annotations of an object and its pod
// templates (data is left alone); false when they are not one per line.
func volatileLines(n *yaml.Node, drop map[int]bool) bool {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "metadata":
				if !annotationLines(v, drop) {
					return false
				}
			case "data", "stringData", "binaryData":
			default:
				if !volatileLines(v, drop) {
					return false
				}
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if !volatileLines(c, drop) {
				return false
			}
		}
	}
	return true
}

func annotationLines(meta *yaml.Node, drop map[int]bool) bool {
	for i := 0; meta.Kind == yaml.MappingNode && i+1 < len(meta.Content); i += 2 {
		k, ann := meta.Content[i], meta.Content[i+1]
		if k.Value != "annotations" || ann.Kind != yaml.MappingNode {
			continue
		}
		dropped := 0
		for j := 0; j+1 < len(ann.Content); j += 2 {
			ak, av := ann.Content[j], ann.Content[j+1]
			if !isVolatile(ak.Value) {
				continue
			}
			if ann.Style&yaml.FlowStyle != 0 || av.Kind != yaml.ScalarNode || av.Line != ak.Line || av.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return false
			}
			drop[ak.Line] = true
			dropped++
		}
		if dropped > 0 && dropped*2 == len(ann.Content) {
			drop[k.Line] = true
		}
	}
	return true
}

// dropVolatile removes the ignored annotations from the nodes of an object and of every
// pod template in it (data is left alone).
func dropVolatile(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch k {
			case "metadata":
				dropAnnotations(v)
			case "data", "stringData", "binaryData":
			default:
				dropVolatile(v)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			dropVolatile(c)
		}
	}
}

func dropAnnotations(meta *yaml.Node) {
	for i := 0; meta.Kind == yaml.MappingNode && i+1 < len(meta.Content); i += 2 {
		if meta.Content[i].Value != "annotations" || meta.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		ann := meta.Content[i+1]
		kept := ann.Content[:0]
		for j := 0; j+1 < len(ann.Content); j += 2 {
			if !isVolatile(ann.Content[j].Value) {
				kept = append(kept, ann.Content[j], ann.Content[j+1])
			}
		}
		ann.Content = kept
		if len(kept) == 0 {
			meta.Content = append(meta.Content[:i], meta.Content[i+2:]...)
		}
		return
	}
}
