package artifact

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/auger-dev/auger/internal/text"
)

// builtinVars are the template variables Auger sets itself. They win over context keys
// of the same name, so CI (or whoever wrote the artifact) cannot spoof them.
var builtinVars = [...]string{"SHA", "SHORT_SHA", "BRANCH", "TAG", "EVENT", "REPO", "OWNER", "REPO_NAME", "PR", "APP", "ENV"}

var (
	// prURLPattern finds the number in .../pull/100 (GitHub) or .../merge_requests/100 (GitLab).
	prURLPattern = regexp.MustCompile(`/(?:pull|merge_requests)/([0-9]+)(?:/|$)`)
	// prRefPattern finds the number in refs/pull/100/merge.
	prRefPattern = regexp.MustCompile(`^refs/pull/([0-9]+)/`)
)

// Vars returns the variables the templates of ec see: every context key, then the
// built-ins SHA, SHORT_SHA (7 characters), BRANCH, TAG, EVENT, REPO (owner/name), OWNER,
// REPO_NAME, PR (only when the artifact comes from a pull request), APP and ENV (ec's
// own, untemplated).
func (a *Artifact) Vars(ec EnvConfig) map[string]string {
	if a == nil {
		a = &Artifact{}
	}
	vars := make(map[string]string, len(a.Context)+len(builtinVars))
	for k, v := range a.Context {
		vars[k] = v
	}
	for _, k := range builtinVars {
		delete(vars, k) // PR is not always set; a context key must not fill the gap
	}
	v := a.Version
	vars["SHA"] = v.SHA
	vars["SHORT_SHA"] = text.Short(v.SHA)
	vars["BRANCH"] = v.Branch
	if v.Branch == "" {
		vars["BRANCH"] = v.SourceBranch
	}
	vars["TAG"] = v.Tag
	vars["EVENT"] = string(v.Event)
	vars["REPO"] = v.RepositoryName
	vars["OWNER"], vars["REPO_NAME"], _ = strings.Cut(v.RepositoryName, "/")
	if pr := a.pullRequestNumber(); pr != "" {
		vars["PR"] = pr
	}
	vars["APP"] = ec.App
	vars["ENV"] = ec.Env
	return vars
}

// pullRequestNumber takes the number from the version URL, else from GITHUB_REF.
func (a *Artifact) pullRequestNumber() string {
	if u, err := url.Parse(a.Version.URL); err == nil {
		if m := prURLPattern.FindStringSubmatch(u.Path); m != nil {
			return m[1]
		}
	}
	if m := prRefPattern.FindStringSubmatch(a.Context["GITHUB_REF"]); m != nil {
		return m[1]
	}
	return ""
}

// Resolve returns a copy of ec with app, env, namespace, every string in values (keys
// are not templated), manifests and the patches (their text and targets) rendered as Go templates with Vars, the sprig
// hermetic functions (without env and expandenv) and sanitizeDNSName. A missing
// variable is an error. Only strings containing "{{" are templated; other values, and
// numbers in particular, are kept as they are. App and env are rendered first, with
// the raw names as APP and ENV; the other fields then see the rendered ones. The
// rendered app, env and namespace must be DNS-1123 labels.
//
// Errors are a *ValidationError naming ec.File and the field.
func (a *Artifact) Resolve(ec EnvConfig) (EnvConfig, error) {
	r := newRenderer()
	var ps problems
	root := fieldPath{}
	vars := a.Vars(ec)

	out := ec
	out.App = r.render(root.key("app"), ec.App, vars, &ps)
	if ec.Preview && out.App != "" {
		// A preview is its own app per branch; values see that name as APP.
		if name, ok := previewOf(out.App, vars); ok {
			out.App = name
		} else {
			ps.add(root.key("preview"), "a preview needs a branch of %s or a pull request to be named after, and this artifact has neither", a.Version.RepositoryName)
		}
	}
	out.Env = r.render(root.key("env"), ec.Env, vars, &ps)
	vars["APP"], vars["ENV"] = out.App, out.Env
	out.Namespace = r.render(root.key("namespace"), ec.Namespace, vars, &ps)
	if ec.Values != nil {
		out.Values, _ = r.renderValue(root.key("values"), ec.Values, vars, &ps).(map[string]any)
	}
	out.Manifests = r.render(root.key("manifests"), ec.Manifests, vars, &ps)
	out.StrategicMergePatches = r.render(root.key("strategicMergePatches"), ec.StrategicMergePatches, vars, &ps)
	out.JSON6902Patches = nil
	for i, p := range ec.JSON6902Patches {
		at := root.key("json6902Patches").index(i)
		t := at.key("target")
		out.JSON6902Patches = append(out.JSON6902Patches, JSON6902Patch{
			Target: PatchTarget{
				Group:     r.render(t.key("group"), p.Target.Group, vars, &ps),
				Version:   r.render(t.key("version"), p.Target.Version, vars, &ps),
				Kind:      r.render(t.key("kind"), p.Target.Kind, vars, &ps),
				Name:      r.render(t.key("name"), p.Target.Name, vars, &ps),
				Namespace: r.render(t.key("namespace"), p.Target.Namespace, vars, &ps),
			},
			Patch: r.render(at.key("patch"), p.Patch, vars, &ps),
		})
	}
	if ec.Deploy != nil {
		d := *ec.Deploy
		d.CommitMessagePatterns = slices.Clone(d.CommitMessagePatterns)
		out.Deploy = &d
	}
	if ec.Cleanup != nil {
		c := *ec.Cleanup
		out.Cleanup = &c
	}
	if len(ps) > 0 {
		return EnvConfig{}, asError(ps.inFile(ec.File))
	}

	for _, f := range []struct {
		name, value string
	}{{"app", out.App}, {"env", out.Env}, {"namespace", out.Namespace}} {
		if f.value == "" {
			ps.add(root.key(f.name), "required (empty after templating)")
		} else if msg := DNSLabelProblem(f.value); msg != "" {
			ps.add(root.key(f.name), "%s", msg)
		}
	}
	if len(ps) > 0 {
		return EnvConfig{}, asError(ps.inFile(ec.File))
	}
	return out, nil
}

// render executes text as a template if it contains one.
func (r *renderer) render(path fieldPath, text string, vars map[string]string, ps *problems) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	t, err := parseTemplate(path.String(), text, r.funcs)
	if err != nil {
		ps.add(path, "%v", err)
		return text
	}
	out := limitedBuffer{limit: maxTemplateOutput}
	if err := t.Execute(&out, vars); err != nil {
		ps.add(path, "%v", err)
		return text
	}
	return out.buf.String()
}

// renderValue copies v, rendering the strings in it.
func (r *renderer) renderValue(path fieldPath, v any, vars map[string]string, ps *problems) any {
	switch v := v.(type) {
	case string:
		return r.render(path, v, vars, ps)
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) { // sorted so errors come in a stable order
			out[k] = r.renderValue(path.key(k), v[k], vars, ps)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.renderValue(path.index(i), e, vars, ps)
		}
		return out
	default:
		return v
	}
}

// Select returns the env configs of the artifact for env, and for app when app is not
// empty, untemplated: callers Resolve them before use. Names are compared after
// templating when they contain a template. No match is an error that lists what the
// artifact has.
func (a *Artifact) Select(env, app string) ([]EnvConfig, error) {
	if a == nil {
		a = &Artifact{}
	}
	var matches []EnvConfig
	var have []string
	var broken []string
	for _, ec := range a.Environments {
		ecApp, ecEnv, err := a.resolveNames(ec)
		if err != nil {
			broken = append(broken, err.Error())
			continue
		}
		preview := ""
		if ec.Preview {
			// A preview is named by its app or by its per-branch name.
			preview, _ = previewOf(ecApp, a.Vars(ec))
		}
		have = append(have, ecApp+"→"+ecEnv)
		if ecEnv == env && (app == "" || ecApp == app || (preview != "" && preview == app)) {
			matches = append(matches, ec)
		}
	}
	if len(matches) > 0 {
		return matches, nil
	}
	what := fmt.Sprintf("env %q", env)
	if app != "" {
		what = fmt.Sprintf("app %q in env %q", app, env)
	}
	has := "it has none"
	if len(have) > 0 {
		has = "it has: " + strings.Join(have, ", ")
	}
	msg := fmt.Sprintf("artifact has no env config for %s; %s", what, has)
	if len(broken) > 0 {
		msg += "; these could not be resolved:\n" + strings.Join(broken, "\n")
	}
	return nil, fmt.Errorf("%s", msg)
}

// previewOf names the preview of app: after its branch, or, for a head that has no
// branch in the repository (a fork's), after its pull request ("<app>-pr-<number>"), so
// it can never take the name of the app itself or of a branch's preview.
func previewOf(app string, vars map[string]string) (string, bool) {
	switch {
	case vars["BRANCH"] != "":
		return PreviewApp(app, vars["BRANCH"]), true
	case vars["PR"] != "":
		return PreviewApp(app, "pr-"+vars["PR"]), true
	}
	return "", false
}

// resolveNames renders only app and env, as Resolve does.
func (a *Artifact) resolveNames(ec EnvConfig) (app, env string, err error) {
	if !strings.Contains(ec.App, "{{") && !strings.Contains(ec.Env, "{{") {
		return ec.App, ec.Env, nil
	}
	r := newRenderer()
	var ps problems
	vars := a.Vars(ec)
	app = r.render(fieldPath{"app"}, ec.App, vars, &ps)
	env = r.render(fieldPath{"env"}, ec.Env, vars, &ps)
	return app, env, asError(ps.inFile(ec.File))
}

// SanitizeDNSName turns any string (a branch name, say) into something usable in a
// DNS-1123 label: lower case, every character other than a-z, 0-9 and '-' replaced by
// '-', no '-' at either end, at most 63 characters. It may return "".
func SanitizeDNSName(s string) string {
	s = strings.Trim(dnsChars(s), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// dnsChars lower-cases s and replaces every character a DNS label cannot hold by '-'.
func dnsChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		default:
			return '-'
		}
	}, s)
}
