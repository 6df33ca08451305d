// Command vendor-github cuts GitHub's published REST description (npm @octokit/openapi)
// down to the operations Auger calls, and picks the webhook payload examples
// (npm @octokit/webhooks-examples) that Auger's tests deliver. Its output is committed
// under internal/githubfake/testdata; vendor.sh fetches the packages and runs it.
//
// The cut keeps every operation listed in operations, the path-level parameters of their
// paths and every #/components/... entry they reference, transitively; everything else
// (other paths, tags, x-webhooks, unreferenced components) is dropped. Output is
// indented JSON with sorted keys, so a re-run with the same input is byte-identical.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// operations are the operationIds Auger uses, from GitHub's description.
var operations = []string{
	"apps/get-authenticated",
	"apps/create-installation-access-token",
	"apps/get-repo-installation",
	"apps/list-webhook-deliveries",
	"apps/redeliver-webhook-delivery",
	"repos/get",
	"repos/get-content",
	"repos/get-commit",
	"repos/compare-commits",
	"repos/list-pull-requests-associated-with-commit",
	"repos/create-commit-status",
	"repos/list-commit-statuses-for-ref",
	"repos/get-collaborator-permission-level",
	"repos/create-deployment",
	"repos/create-deployment-status",
	"repos/list-deployments",
	"checks/create",
	"checks/update",
	"checks/get",
	"checks/list-for-ref",
	"checks/list-for-suite",
	"issues/create-comment",
	"issues/update-comment",
	"issues/list-comments",
	"issues/get-comment",
	"reactions/create-for-issue-comment",
	"pulls/get",
	"pulls/list-reviews",
	"pulls/create",
	"pulls/merge",
	"pulls/list",
	"teams/get-membership-for-user-in-org",
	"git/get-ref",
	"git/get-tag",
	// The dashboard: sign-in (user-to-server tokens), the repositories a user can read,
	// recent commits, and the App manifest flow of the setup page.
	"users/get-authenticated",
	"apps/list-installations-for-authenticated-user",
	"apps/list-installation-repos-for-authenticated-user",
	"repos/list-commits",
	"apps/create-from-manifest",
}

// webhookExample names one payload kept from @octokit/webhooks-examples: the first
// example of event whose fields match (a nil value matches an absent field).
type webhookExample struct {
	file  string
	event string
	match map[string]any
}

// webhooks are the payloads Auger's tests deliver. Push and delete carry no action, so
// their variants are chosen by ref and by created/deleted.
var webhooks = []webhookExample{
	{"check_run.completed", "check_run", map[string]any{"action": "completed"}},
	{"check_run.requested_action", "check_run", map[string]any{"action": "requested_action"}},
	{"check_suite.completed", "check_suite", map[string]any{"action": "completed"}},
	{"push.branch", "push", map[string]any{"ref": "refs/heads/", "deleted": false}},
	{"push.tag", "push", map[string]any{"ref": "refs/tags/", "deleted": false}},
	// The package has no push deleting a branch; the tag deletion is the nearest, and
	// githubfake.Payload turns it into a branch deletion.
	{"push.deleted", "push", map[string]any{"deleted": true}},
	// Likewise, every delete example deletes a tag; Payload adapts it to a branch.
	{"delete", "delete", nil},
	{"issue_comment.created", "issue_comment", map[string]any{"action": "created"}},
	{"issue_comment.edited", "issue_comment", map[string]any{"action": "edited"}},
	{"pull_request.opened", "pull_request", map[string]any{"action": "opened"}},
	{"pull_request.synchronize", "pull_request", map[string]any{"action": "synchronize"}},
	{"pull_request.closed", "pull_request", map[string]any{"action": "closed"}},
	{"installation.created", "installation", map[string]any{"action": "created"}},
}

func main() {
	in := flag.String("in", "", "GitHub's REST description, e.g. <package>/generated/api.github.com.json")
	out := flag.String("out", "", "where to write the cut description")
	from := flag.String("from", "", "the npm package@version the description came from, recorded as info.x-vendored-from")
	hooksIn := flag.String("webhooks-in", "", "optional: @octokit/webhooks-examples' api.github.com/index.json")
	hooksOut := flag.String("webhooks-out", "", "directory for the chosen webhook payloads")
	hooksFrom := flag.String("webhooks-from", "", "the npm package@version the examples came from")
	flag.Parse()
	if err := run(*in, *out, *from, *hooksIn, *hooksOut, *hooksFrom); err != nil {
		fmt.Fprintln(os.Stderr, "vendor-github:", err)
		os.Exit(1)
	}
}

func run(in, out, from, hooksIn, hooksOut, hooksFrom string) error {
	if in == "" || out == "" || from == "" {
		return errors.New("-in, -out and -from are required")
	}
	var doc map[string]any
	if err := readJSON(in, &doc); err != nil {
		return err
	}
	cut, err := cutDescription(doc, operations, from)
	if err != nil {
		return fmt.Errorf("cut %s: %w", in, err)
	}
	if err := writeJSON(out, cut); err != nil {
		return err
	}
	if hooksIn == "" {
		return nil
	}
	if hooksOut == "" || hooksFrom == "" {
		return errors.New("-webhooks-out and -webhooks-from are required with -webhooks-in")
	}
	return vendorWebhooks(hooksIn, hooksOut, hooksFrom)
}

// cutDescription returns doc with only the given operations and what they reference.
func cutDescription(doc map[string]any, ops []string, from string) (map[string]any, error) {
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, errors.New("no paths object")
	}
	want := map[string]bool{}
	for _, op := range ops {
		want[op] = true
	}
	keptPaths := map[string]any{}
	for path, rawItem := range paths {
		item, ok := rawItem.(map[string]any)
		if !ok {
			continue
		}
		kept := map[string]any{}
		for key, rawOp := range item {
			op, ok := rawOp.(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if want[id] {
				kept[key] = op
				delete(want, id)
			}
		}
		if len(kept) == 0 {
			continue
		}
		// Path-level fields (parameters, summary) apply to every operation of the path.
		for _, key := range []string{"parameters", "summary", "description", "servers"} {
			if v, ok := item[key]; ok {
				kept[key] = v
			}
		}
		keptPaths[path] = kept
	}
	if len(want) > 0 {
		var missing []string
		for id := range want {
			missing = append(missing, id)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("operations not in the description: %s", strings.Join(missing, ", "))
	}

	components, _ := doc["components"].(map[string]any)
	keptComponents := map[string]any{}
	var walkErr error
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if seen[ref] {
					return
				}
				seen[ref] = true
				kind, name, ok := splitRef(ref)
				if !ok {
					walkErr = errors.Join(walkErr, fmt.Errorf("unsupported $ref %q", ref))
					return
				}
				section, _ := components[kind].(map[string]any)
				target, ok := section[name]
				if !ok {
					walkErr = errors.Join(walkErr, fmt.Errorf("dangling $ref %q", ref))
					return
				}
				dst, _ := keptComponents[kind].(map[string]any)
				if dst == nil {
					dst = map[string]any{}
					keptComponents[kind] = dst
				}
				dst[name] = target
				walk(target)
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(keptPaths)
	if walkErr != nil {
		return nil, walkErr
	}

	info := map[string]any{}
	if src, ok := doc["info"].(map[string]any); ok {
		for k, v := range src {
			info[k] = v
		}
	}
	info["x-vendored-from"] = from
	info["x-vendored-operations"] = len(ops)
	cut := map[string]any{
		"openapi":    doc["openapi"],
		"info":       info,
		"servers":    doc["servers"],
		"paths":      keptPaths,
		"components": keptComponents,
	}
	return cut, nil
}

// splitRef splits "#/components/<kind>/<name>" (JSON-pointer escaped) into kind and name.
func splitRef(ref string) (kind, name string, ok bool) {
	rest, ok := strings.CutPrefix(ref, "#/components/")
	if !ok {
		return "", "", false
	}
	kind, name, ok = strings.Cut(rest, "/")
	if !ok || strings.Contains(name, "/") {
		return "", "", false
	}
	name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
	return kind, name, true
}

// vendorWebhooks writes one <file>.json per entry of webhooks, plus a SOURCE file naming
// the package, so the fixtures say where they came from.
func vendorWebhooks(in, outDir, from string) error {
	var index []struct {
		Name     string           `json:"name"`
		Examples []map[string]any `json:"examples"`
	}
	if err := readJSON(in, &index); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", outDir, err)
	}
	for _, w := range webhooks {
		var found map[string]any
		for _, e := range index {
			if e.Name != w.event {
				continue
			}
			for _, ex := range e.Examples {
				if matches(ex, w.match) {
					found = ex
					break
				}
			}
			if found != nil {
				break
			}
		}
		if found == nil {
			return fmt.Errorf("no %s example matches %v", w.event, w.match)
		}
		if err := writeJSON(fmt.Sprintf("%s/%s.json", outDir, w.file), found); err != nil {
			return err
		}
	}
	source := fmt.Sprintf("Payload examples from npm %s (api.github.com/index.json), chosen by\nscripts/vendor-github; do not edit, re-run scripts/vendor-github/vendor.sh.\n", from)
	if err := os.WriteFile(outDir+"/SOURCE", []byte(source), 0o644); err != nil {
		return fmt.Errorf("write %s/SOURCE: %w", outDir, err)
	}
	return nil
}

// matches reports whether example has every field of match; string values match as
// prefixes so "refs/heads/" selects any branch.
func matches(example, match map[string]any) bool {
	for k, want := range match {
		got, ok := example[k]
		if s, isString := want.(string); isString {
			g, _ := got.(string)
			if !ok || !strings.HasPrefix(g, s) {
				return false
			}
			continue
		}
		if !ok || got != want {
			return false
		}
	}
	return true
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// Numbers stay as written: no float64 rounding of ids or limits.
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// writeJSON writes v with sorted keys (encoding/json sorts map keys), one-space
// indentation and no HTML escaping, so diffs of re-vendored files stay readable.
func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
