package artifact

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Problem is one thing wrong with an artifact or an env config, placed as precisely as
// Auger can: File and Line when it came from a file (for check-run annotations), Path
// within the artifact or document (environments[1].chart.version, values.image.tag).
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// String formats the problem as file:line: path: message, leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists everything wrong with an artifact or env config file at once, so
// that a user fixes all of it in one go instead of one message per push.
type ValidationError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// asError returns nil for no problems, so that callers never see a typed nil error.
func asError(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// fieldPath locates a value inside an artifact or document: string elements are object
// keys, int elements list indices. It is kept structured until the end so that the YAML
// loader can turn it into a line number.
type fieldPath []any

func (p fieldPath) key(k string) fieldPath { return append(slices.Clip(p), k) }
func (p fieldPath) index(i int) fieldPath  { return append(slices.Clip(p), i) }

// String renders the path as environments[0].values.image.tag; keys that are not plain
// words are quoted: values["example.com/owner"].
func (p fieldPath) String() string {
	var b strings.Builder
	for _, el := range p {
		switch el := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", el)
		case string:
			if isPlainKey(el) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(el)
			} else {
				fmt.Fprintf(&b, "[%s]", strconv.Quote(el))
			}
		}
	}
	return b.String()
}

func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// problem is a Problem before it is placed in a file or artifact. textLine, when set, is
// the line inside the multi-line string at path (a patch document's).
type problem struct {
	path     fieldPath
	msg      string
	textLine int
}

type problems []problem

func (ps *problems) add(path fieldPath, format string, args ...any) {
	*ps = append(*ps, problem{path: path, msg: fmt.Sprintf(format, args...)})
}

// inArtifact places problems at their path inside an artifact.
func (ps problems) inArtifact() []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem{Path: p.path.String(), Message: p.msg}
	}
	return out
}

// inFile places problems in a file without line numbers.
func (ps problems) inFile(file string) []Problem {
	out := ps.inArtifact()
	for i := range out {
		out[i].File = file
	}
	return out
}

const dnsLabelRule = "lower case letters, digits and '-', at most 63 characters"

// DNSLabelProblem explains why value is not a DNS-1123 label, or returns "": the one
// check of app, env and namespace names, which become gitops paths and Kubernetes
// names, so this rule is what keeps "../" and "/" out of the gitops repository. The
// message quotes the value and says which characters a label may hold; the caller
// prefixes the field it checked.
func DNSLabelProblem(value string) string {
	if len(validation.IsDNS1123Label(value)) == 0 {
		return ""
	}
	msg := fmt.Sprintf("%q: not a DNS-1123 label (%s)", value, dnsLabelRule)
	// %q prints look-alikes such as the Cyrillic "о" unchanged; name them.
	for _, r := range value {
		if r >= utf8.RuneSelf {
			msg += fmt.Sprintf("; %q (U+%04X) is not ASCII", r, r)
			break
		}
	}
	return msg
}

func validEvent(e Event) bool {
	return e == EventPush || e == EventPR || e == EventTag
}

func validCleanupEvent(e CleanupEvent) bool {
	return e == CleanupPRClosed || e == CleanupBranchDeleted
}

// globProblem explains why a branch or tag pattern is unusable, or returns "".
func globProblem(pattern string) string {
	glob := strings.TrimPrefix(pattern, "!")
	if glob == "" {
		return fmt.Sprintf("%q: empty pattern", pattern)
	}
	if !doublestar.ValidatePattern(glob) {
		return fmt.Sprintf("%q: invalid glob pattern", pattern)
	}
	return ""
}

var (
	repositoryNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	shaPattern            = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
)

// Validate checks everything Auger relies on before it records or releases an artifact.
// It returns a *ValidationError listing every problem, or nil.
func (a *Artifact) Validate() error {
	if a == nil {
		return asError([]Problem{{Message: "no artifact"}})
	}
	var ps problems
	root := fieldPath{}
	switch {
	case a.ID == "":
		ps.add(root.key("id"), "required")
	case strings.ContainsFunc(a.ID, unicode.IsSpace) || strings.ContainsFunc(a.ID, unicode.IsControl):
		// The id goes into commit trailers and check-run external ids.
		ps.add(root.key("id"), "%q: must not contain spaces or control characters", a.ID)
	}
	validateVersion(&ps, root.key("version"), a.Version)

	for _, k := range sortedKeys(a.Context) {
		switch {
		case IsSecretName(k):
			ps.add(root.key("context").key(k), "looks like a secret; artifacts must not carry secrets, remove it")
		case looksLikeSecretValue(a.Context[k]):
			ps.add(root.key("context").key(k), "value looks like a credential; artifacts must not carry secrets, remove it")
		}
	}

	funcs := newRenderer().funcs
	for i := range a.Environments {
		at := root.key("environments").index(i)
		for _, p := range validateEnvConfig(&a.Environments[i], funcs) {
			ps = append(ps, problem{path: append(slices.Clip(at), p.path...), msg: p.msg})
		}
	}
	for _, d := range duplicateEnvConfigs(a.Environments) {
		ps.add(root.key("environments").index(d.second), "same app %q and env %q as environments[%d]", d.app, d.env, d.first)
	}

	for i, item := range a.Items {
		at := root.key("items").index(i)
		if item.Name == "" {
			ps.add(at.key("name"), "required")
		}
		if item.URL == "" {
			ps.add(at.key("url"), "required")
		}
	}
	return asError(ps.inArtifact())
}

func validateVersion(ps *problems, at fieldPath, v Version) {
	switch {
	case v.RepositoryName == "":
		ps.add(at.key("repositoryName"), "required")
	case !repositoryNamePattern.MatchString(v.RepositoryName) || strings.HasSuffix(v.RepositoryName, "/.") || strings.HasSuffix(v.RepositoryName, "/.."):
		ps.add(at.key("repositoryName"), "%q: must be owner/name", v.RepositoryName)
	}
	switch {
	case v.SHA == "":
		ps.add(at.key("sha"), "required")
	case !shaPattern.MatchString(v.SHA):
		ps.add(at.key("sha"), "%q: must be 7 to 64 lower-case hex characters", v.SHA)
	}
	switch {
	case v.Event == "":
		ps.add(at.key("event"), "required (one of push, pr, tag)")
	case !validEvent(v.Event):
		ps.add(at.key("event"), "%q: must be one of push, pr, tag", v.Event)
	case v.Event == EventTag && v.Tag == "":
		ps.add(at.key("tag"), "required for tag events")
	}
	refs := []struct {
		field, value string
	}{{"branch", v.Branch}, {"sourceBranch", v.SourceBranch}, {"targetBranch", v.TargetBranch}, {"tag", v.Tag}}
	for _, ref := range refs {
		// Git forbids these in ref names; here they would also end up in commit trailers.
		if strings.ContainsFunc(ref.value, unicode.IsSpace) || strings.ContainsFunc(ref.value, unicode.IsControl) {
			ps.add(at.key(ref.field), "%q: must not contain spaces or control characters", ref.value)
		}
	}
}

// Validate checks one env config on its own (an artifact also checks that its env
// configs do not collide). Problems carry the config's File and paths inside it.
func (ec *EnvConfig) Validate() error {
	if ec == nil {
		return asError([]Problem{{Message: "no env config"}})
	}
	ps := problems(validateEnvConfig(ec, newRenderer().funcs))
	return asError(ps.inFile(ec.File))
}

// validateEnvConfig returns problems with paths relative to the env config. funcs is
// the template function map, needed to parse templates.
func validateEnvConfig(ec *EnvConfig, funcs template.FuncMap) problems {
	var ps problems
	root := fieldPath{}
	for _, f := range []struct {
		name, value string
	}{{"app", ec.App}, {"env", ec.Env}, {"namespace", ec.Namespace}} {
		switch {
		case f.value == "":
			ps.add(root.key(f.name), "required")
		case strings.Contains(f.value, "{{"):
			// Checked for DNS-1123 after templating, in Resolve.
			if _, err := parseTemplate(f.name, f.value, funcs); err != nil {
				ps.add(root.key(f.name), "%v", err)
			}
		default:
			if msg := DNSLabelProblem(f.value); msg != "" {
				ps.add(root.key(f.name), "%s", msg)
			}
		}
	}

	chart := root.key("chart")
	if ec.Chart.Name == "" {
		ps.add(chart.key("name"), "required")
	}
	if repo := ec.Chart.Repository; repo != "" {
		u, err := url.Parse(repo)
		switch {
		case err != nil:
			ps.add(chart.key("repository"), "%q: not a URL: %v", repo, err)
		case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "oci":
			ps.add(chart.key("repository"), "%q: must start with https://, http:// or oci://", repo)
		case u.Host == "":
			ps.add(chart.key("repository"), "%q: has no host", repo)
		}
		if ec.Chart.Version == "" {
			ps.add(chart.key("version"), "required when chart.repository is set")
		}
	}

	checkTemplates(&ps, root.key("values"), ec.Values, funcs)
	if strings.Contains(ec.Manifests, "{{") {
		if _, err := parseTemplate("manifests", ec.Manifests, funcs); err != nil {
			ps.add(root.key("manifests"), "%v", err)
		}
	}

	validatePatches(&ps, ec, funcs)

	if d := ec.Deploy; d != nil {
		validateDeploy(&ps, root.key("deploy"), d)
	}
	if c := ec.Cleanup; c != nil {
		at := root.key("cleanup")
		switch {
		case c.Event == "":
			ps.add(at.key("event"), "required (one of prClosed, branchDeleted)")
		case !validCleanupEvent(c.Event):
			ps.add(at.key("event"), "%q: must be one of prClosed, branchDeleted", c.Event)
		}
		if c.App == "" {
			ps.add(at.key("app"), "required")
		} else if strings.Contains(c.App, "{{") {
			if _, err := parseTemplate("cleanup.app", c.App, funcs); err != nil {
				ps.add(at.key("app"), "%v", err)
			}
		} else if msg := DNSLabelProblem(c.App); msg != "" {
			ps.add(at.key("app"), "%s", msg)
		}
		if c.Branch != "" {
			if msg := globProblem(c.Branch); msg != "" {
				ps.add(at.key("branch"), "%s", msg)
			}
		}
	}
	return ps
}

func validateDeploy(ps *problems, at fieldPath, d *Deploy) {
	if d.Event != "" && !validEvent(d.Event) {
		ps.add(at.key("event"), "%q: must be one of push, pr, tag", d.Event)
	}
	if d.Branch == "" && d.Tag == "" && d.Event == "" {
		// An empty policy would release every artifact; make that a decision, not an accident.
		ps.add(at, "needs branch, tag or event (an empty policy would release everything)")
	}
	if d.Branch != "" && d.Tag != "" {
		ps.add(at, "branch and tag are both set; use one (a tag event has no branch)")
	}
	if d.Branch != "" {
		if msg := globProblem(d.Branch); msg != "" {
			ps.add(at.key("branch"), "%s", msg)
		}
		if d.Event == EventTag {
			ps.add(at.key("branch"), "does not apply to tag events; use tag")
		}
	}
	for i, pattern := range d.CommitMessagePatterns {
		if _, err := compileMessageGlob(strings.TrimPrefix(pattern, "!")); err != nil {
			ps.add(at.key("commitMessagePatterns").index(i), "%q: invalid pattern: %v", pattern, err)
		}
	}
	if d.Tag != "" {
		if msg := globProblem(d.Tag); msg != "" {
			ps.add(at.key("tag"), "%s", msg)
		}
		if d.Event != "" && d.Event != EventTag {
			ps.add(at.key("tag"), "only matches tag events, but event is %q", d.Event)
		}
	}
}

// checkTemplates parses every string in values that contains a template.
func checkTemplates(ps *problems, at fieldPath, v any, funcs template.FuncMap) {
	switch v := v.(type) {
	case string:
		if strings.Contains(v, "{{") {
			if _, err := parseTemplate(at.String(), v, funcs); err != nil {
				ps.add(at, "%v", err)
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			checkTemplates(ps, at.key(k), v[k], funcs)
		}
	case []any:
		for i, e := range v {
			checkTemplates(ps, at.index(i), e, funcs)
		}
	}
}

type duplicate struct {
	first, second int
	app, env      string
}

// duplicateEnvConfigs finds env configs that would write the same gitops folder. Only
// literal names are compared; templated ones are only known after Resolve.
func duplicateEnvConfigs(ecs []EnvConfig) []duplicate {
	var dups []duplicate
	seen := map[[2]string]int{}
	for i, ec := range ecs {
		if ec.App == "" || ec.Env == "" || strings.Contains(ec.App, "{{") || strings.Contains(ec.Env, "{{") {
			continue
		}
		k := [2]string{ec.App, ec.Env}
		if first, ok := seen[k]; ok {
			dups = append(dups, duplicate{first: first, second: i, app: ec.App, env: ec.Env})
			continue
		}
		seen[k] = i
	}
	return dups
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
