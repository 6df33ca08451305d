package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/api/filters/patchjson6902"
	"sigs.k8s.io/kustomize/api/filters/patchstrategicmerge"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/artifact"
)

// PatchError is a patch of an env config that cannot be applied: malformed, failing, or
// matching no rendered object. Path is where it is in the env config
// ("strategicMergePatches", or "json6902Patches", 1), Line the line inside the
// strategic merge patches' text where the document starts (0 for JSON patches), so
// callers can point at the env config file's line.
type PatchError struct {
	Path []any
	Line int
	Err  error
}

// Field names the patch's place as users read it: "json6902Patches[1]".
func (e *PatchError) Field() string {
	var b strings.Builder
	for _, el := range e.Path {
		switch el := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", el)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, el)
		}
	}
	return b.String()
}

func (e *PatchError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s, line %d: %v", e.Field(), e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Field(), e.Err)
}

func (e *PatchError) Unwrap() error { return e.Err }

// applyPatches applies the env config's strategic merge patches, then its JSON 6902
// patches, to the rendered documents, with kustomize's own filters (strategic merge
// with the Kubernetes schema's merge keys, and RFC 6902). A patch must match at least
// one object. Only the objects a patch matches are converted to kustomize's nodes and
// back.
func applyPatches(docs []document, ec artifact.EnvConfig) ([]document, error) {
	smpPath := []any{"strategicMergePatches"}
	if strings.TrimSpace(ec.StrategicMergePatches) != "" {
		smps, err := artifact.SplitStrategicMergePatches(ec.StrategicMergePatches)
		if err != nil {
			return nil, &PatchError{Path: smpPath, Err: err}
		}
		for _, p := range smps {
			patch, err := kyaml.Parse(p.Text)
			if err != nil {
				return nil, &PatchError{Path: smpPath, Line: p.Line, Err: fmt.Errorf("document %d: %w", p.Index, err)}
			}
			target := artifact.PatchTarget{Kind: p.Kind, Name: p.Name, Namespace: p.Namespace}
			target.Group, target.Version = splitAPIVersion(p.APIVersion)
			docs, err = patchMatching(docs, ec.Namespace, target, patchstrategicmerge.Filter{Patch: patch})
			if err != nil {
				return nil, &PatchError{Path: smpPath, Line: p.Line, Err: fmt.Errorf("document %d (%s %s): %w", p.Index, p.Kind, p.Name, err)}
			}
		}
	}
	for i, p := range ec.JSON6902Patches {
		at := []any{"json6902Patches", i}
		if err := artifact.CheckJSONPatch(p.Patch); err != nil {
			return nil, &PatchError{Path: append(at, "patch"), Err: err}
		}
		// As JSON: kustomize reads a patch that starts with "[" as JSON, and YAML's flow
		// lists start so too.
		ops, err := yaml.YAMLToJSON([]byte(p.Patch))
		if err != nil {
			return nil, &PatchError{Path: append(at, "patch"), Err: err}
		}
		docs, err = patchMatching(docs, ec.Namespace, p.Target, patchjson6902.Filter{Patch: string(ops)})
		if err != nil {
			return nil, &PatchError{Path: at, Err: fmt.Errorf("%s %s: %w", p.Target.Kind, p.Target.Name, err)}
		}
	}
	return docs, nil
}

// patchMatching runs filter on every document target names; a document the filter
// removes (a "$patch: delete") is dropped. No match is an error that lists what there is.
func patchMatching(docs []document, namespace string, target artifact.PatchTarget, filter kio.Filter) ([]document, error) {
	out := docs[:0:0]
	matched := 0
	for _, d := range docs {
		if !matches(d.obj, namespace, target) {
			out = append(out, d)
			continue
		}
		matched++
		patched, err := runFilter(d.obj, filter)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.source, err)
		}
		if patched != nil {
			out = append(out, document{source: d.source, obj: patched})
		}
	}
	if matched == 0 {
		return nil, fmt.Errorf("matches no rendered object (there are %s)", describeObjects(docs))
	}
	return out, nil
}

// matches tells whether obj is what target names; an object without a namespace is in
// the env config's.
func matches(obj map[string]any, namespace string, target artifact.PatchTarget) bool {
	if obj == nil {
		return false
	}
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if kind != target.Kind || name != target.Name {
		return false
	}
	apiVersion, _ := obj["apiVersion"].(string)
	group, version := splitAPIVersion(apiVersion)
	if (target.Group != "" && target.Group != group) || (target.Version != "" && target.Version != version) {
		return false
	}
	if target.Namespace != "" {
		ns, _ := meta["namespace"].(string)
		if ns == "" && !clusterScoped[kind] {
			ns = namespace
		}
		return ns == target.Namespace
	}
	return true
}

// splitAPIVersion splits "apps/v1" into group and version; "v1" is the core group.
func splitAPIVersion(apiVersion string) (group, version string) {
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		return g, v
	}
	return "", apiVersion
}

// runFilter converts obj to a kustomize node, runs filter and converts back, keeping
// numbers as written; nil means the filter removed the object.
func runFilter(obj map[string]any, filter kio.Filter) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, err
	}
	out, err := filter.Filter([]*kyaml.RNode{node})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 || out[0] == nil {
		return nil, nil
	}
	data, err = out[0].MarshalJSON()
	if err != nil {
		return nil, err
	}
	var patched map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&patched); err != nil {
		return nil, err
	}
	return patched, nil
}

// describeObjects lists the objects there are, for "matches nothing" messages.
func describeObjects(docs []document) string {
	const shown = 10
	var names []string
	for _, d := range docs {
		if d.obj == nil {
			continue
		}
		kind, _ := d.obj["kind"].(string)
		meta, _ := d.obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		names = append(names, kind+" "+name)
	}
	switch {
	case len(names) == 0:
		return "none"
	case len(names) > shown:
		return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
	}
	return strings.Join(names, ", ")
}
