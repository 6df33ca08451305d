package manifests

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"
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
	File string
	Kind ChangeKind
	Diff string
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
			A: difflib.SplitLines(a), B: difflib.SplitLines(b),
			FromFile: "a/" + name, ToFile: "b/" + name, Context: 3,
		})
		changes = append(changes, Change{File: name, Kind: kind, Diff: diff})
	}
	return changes
}

// comparable is an object's YAML without the annotations Compare ignores; a file that
// does not parse is compared as it is.
func comparable(data []byte) string {
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj, func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }); err != nil || obj == nil {
		return string(data)
	}
	dropVolatile(obj)
	out, err := yaml.Marshal(obj)
	if err != nil || bytes.Equal(out, []byte("{}\n")) {
		return string(data)
	}
	return string(out)
}

// dropVolatile removes the ignored annotations from an object and from every pod
// template in it.
func dropVolatile(v any) {
	switch v := v.(type) {
	case map[string]any:
		if meta, ok := v["metadata"].(map[string]any); ok {
			if ann, ok := meta["annotations"].(map[string]any); ok {
				for k := range ann {
					if strings.HasPrefix(k, "checksum/") || k == AnnotationRelease || k == AnnotationSHA || k == AnnotationRepository {
						delete(ann, k)
					}
				}
				if len(ann) == 0 {
					delete(meta, "annotations")
				}
			}
		}
		for k, child := range v {
			if k != "metadata" && k != "data" && k != "stringData" {
				dropVolatile(child)
			}
		}
	case []any:
		for _, child := range v {
			dropVolatile(child)
		}
	}
}
