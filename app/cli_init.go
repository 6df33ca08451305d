package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/manifests"
)

// placeholderSHA stands in for the commit when `auger init` checks what it wrote by
// rendering it: the real one is only known when an artifact is made.
const placeholderSHA = "0123456789abcdef0123456789abcdef01234567"

func newInitCommand() *cobra.Command {
	var (
		o     initOptions
		ref   string
		force bool
		rf    renderFlags
	)
	cmd := &cobra.Command{
		Use:   "init --env E --chart REF [--app A] [--namespace N] [--image R] [--force]",
		Short: "Configure the app repository in the working directory for deployment: write .auger/<env>.yaml",
		Long: "Write .auger/<env>.yaml: the chart's reference, the values a first release needs (read from the\n" +
			"chart's values.schema.json and defaults: image repository, tag templated from the commit, port,\n" +
			"host), comments saying what each is, and a deploy policy left commented out. What it writes is\n" +
			"rendered before it is written. --chart takes <repository>/<name>@<version> (https:// or oci://),\n" +
			"a git URL or a local chart directory. An existing file is kept unless --force.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := manifests.ParseChartRef(ref)
			if err != nil {
				return fmt.Errorf("--chart: %w", err)
			}
			o.chart = c
			file := filepath.Join(o.dir, o.env+".yaml")
			if _, err := os.Stat(file); err == nil && !force {
				return fmt.Errorf("%s already exists; edit it, or run again with --force to overwrite it", file)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			renderer, err := rf.renderer()
			if err != nil {
				return err
			}
			ch, err := renderer.Chart(cmd.Context(), c)
			if err != nil {
				return err
			}
			o.fillDefaults()
			data, err := starterEnvConfig(ch, o)
			if err != nil {
				return err
			}
			rel := filepath.ToSlash(filepath.Join(filepath.Base(o.dir), o.env+".yaml"))
			n, err := checkStarter(cmd, renderer, rel, data, o)
			if err != nil {
				return fmt.Errorf("the env config for chart %s does not render; nothing was written: %w", ref, err)
			}
			if err := os.MkdirAll(o.dir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s in %s with chart %s (renders %d objects); review its values, then commit it\n", file, o.app, o.env, ref, n)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.env, "env", "", "the environment to configure")
	f.StringVar(&ref, "chart", "", "the chart: <repository>/<name>@<version>, a git URL or a local directory")
	f.StringVar(&o.app, "app", "", "the app's name (default: the repository's name)")
	f.StringVar(&o.namespace, "namespace", "", "the Kubernetes namespace (default: the env name)")
	f.StringVar(&o.image, "image", "", "the image repository (default: ghcr.io/<owner>/<name> of the git remote origin)")
	f.StringVar(&o.dir, "dir", ".auger", "the env config folder")
	f.BoolVar(&force, "force", false, "overwrite an existing env config file")
	rf.register(cmd)
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.MarkFlagRequired("chart")
	return cmd
}

// initOptions are what `auger init` writes an env config for.
type initOptions struct {
	app, env, namespace, image, dir string
	chart                           artifact.Chart
	repository                      string // owner/name, from the git remote
}

// fillDefaults takes the app's name and image from the git repository around dir.
func (o *initOptions) fillDefaults() {
	o.repository = originRepository(o.dir)
	if o.app == "" {
		name := o.repository
		if name == "" {
			if abs, err := filepath.Abs(filepath.Dir(o.dir)); err == nil {
				name = filepath.Base(abs)
			}
		}
		_, short, _ := strings.Cut(name, "/")
		o.app = artifact.SanitizeDNSName(firstNonEmptyString(short, name))
	}
	if o.namespace == "" {
		o.namespace = o.env
	}
	if o.image == "" && o.repository != "" {
		o.image = "ghcr.io/" + strings.ToLower(o.repository)
	}
}

// originRepository is the owner/name of the git remote origin of the repository
// around dir, or "".
func originRepository(dir string) string {
	repo, err := git.PlainOpenWithOptions(filepath.Dir(dir), &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return ""
	}
	remote, err := repo.Remote("origin")
	if err != nil || len(remote.Config().URLs) == 0 {
		return ""
	}
	u := strings.TrimSuffix(remote.Config().URLs[0], ".git")
	if i := strings.LastIndexAny(u, ":/"); i > 0 {
		if j := strings.LastIndexAny(u[:i], ":/"); j >= 0 {
			return u[j+1:]
		}
	}
	return ""
}

func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// starterValue is one value `auger init` writes, at path inside values.
type starterValue struct {
	path  []string
	value any
	note  string // why this value, when it is not the chart's default
}

// starterEnvConfig writes the env config for o: fields with comments, the values a
// first release needs, and a deploy policy commented out.
func starterEnvConfig(ch *chart.Chart, o initOptions) ([]byte, error) {
	var schema map[string]any
	if len(ch.Schema) > 0 {
		if err := json.Unmarshal(ch.Schema, &schema); err != nil {
			return nil, fmt.Errorf("chart %s: values.schema.json: %w", ch.Name(), err)
		}
	}
	comments := valuesComments(ch)
	doc := &yaml.Node{Kind: yaml.MappingNode}
	field := func(key, value, comment string) {
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key, HeadComment: comment}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
	}
	field("app", o.app, "The app: its folder in the gitops repository and the name of the chart's release.")
	field("env", o.env, "The environment it is released to, as the Auger server names it.")
	field("namespace", o.namespace, "The Kubernetes namespace its objects go to.")
	chartNode := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range [][2]string{{"repository", o.chart.Repository}, {"name", o.chart.Name}, {"version", o.chart.Version}} {
		if kv[1] != "" {
			chartNode.Content = append(chartNode.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv[0]}, &yaml.Node{Kind: yaml.ScalarNode, Value: kv[1]})
		}
	}
	doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "chart", HeadComment: "The Helm chart that renders it."}, chartNode)

	values := &yaml.Node{Kind: yaml.MappingNode}
	for _, v := range starterValues(ch.Values, schema, o) {
		comment := firstNonEmptyString(schemaText(schema, v.path), comments[strings.Join(v.path, ".")])
		if v.note != "" {
			comment = strings.TrimSpace(comment + "\n" + v.note)
		}
		value := &yaml.Node{}
		if err := value.Encode(v.value); err != nil {
			return nil, err
		}
		setPath(values, v.path, value, comment)
	}
	doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "values",
		HeadComment: "The chart's values for this environment; every other value keeps the chart's default.\n" +
			"Strings may use templates: {{ .SHA }}, {{ .SHORT_SHA }}, {{ .BRANCH }}, {{ .TAG }}, {{ .APP }}, {{ .ENV }}."}, values)
	doc.FootComment = fmt.Sprintf("Deploy policy: uncomment to release every push to main to %s without a human.\n"+
		"deploy:\n  branch: main\n  event: push", o.env)

	var buf bytes.Buffer
	buf.WriteString("# Auger env config: how " + o.app + " is released to " + o.env + ". Written by `auger init`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// starterValues picks the values a first release needs: the image (repository, and
// the tag templated from the commit), the port and the ingress host when the chart has
// them, and every value the schema requires that the chart's defaults leave unset.
func starterValues(defaults map[string]any, schema map[string]any, o initOptions) []starterValue {
	var out []starterValue
	has := func(path ...string) (any, bool) { return lookup(defaults, path) }
	if _, ok := has("image", "repository"); ok && o.image != "" {
		out = append(out, starterValue{path: []string{"image", "repository"}, value: o.image, note: "The image CI pushes."})
	} else if def, ok := has("image", "repository"); ok {
		out = append(out, starterValue{path: []string{"image", "repository"}, value: def, note: "The image CI pushes: change it to yours."})
	}
	if _, ok := has("image", "tag"); ok {
		out = append(out, starterValue{path: []string{"image", "tag"}, value: "{{ .SHA }}", note: "Templated: the commit being released, as CI tags the image."})
	}
	for _, port := range [][]string{{"containerPort"}, {"port"}, {"service", "port"}} {
		if def, ok := has(port...); ok {
			out = append(out, starterValue{path: port, value: def})
			break
		}
	}
	if _, ok := has("ingress", "host"); ok {
		out = append(out, starterValue{path: []string{"ingress", "host"}, value: o.app + "." + o.env + ".example.com", note: "Change it to a host of your domain."})
	}
	for _, path := range requiredUnset(schema, defaults, nil) {
		out = append(out, starterValue{path: path, value: schemaDefault(schema, path), note: "Required by the chart's schema."})
	}
	return out
}

// requiredUnset lists the paths the schema requires that values leave unset.
func requiredUnset(schema map[string]any, values map[string]any, at []string) [][]string {
	var out [][]string
	required, _ := schema["required"].([]any)
	props, _ := schema["properties"].(map[string]any)
	for _, r := range required {
		name, _ := r.(string)
		if _, ok := values[name]; !ok && name != "" {
			out = append(out, append(append([]string(nil), at...), name))
		}
	}
	for name, p := range props {
		sub, _ := p.(map[string]any)
		if child, ok := values[name].(map[string]any); ok && sub != nil {
			out = append(out, requiredUnset(sub, child, append(append([]string(nil), at...), name))...)
		}
	}
	return out
}

// schemaAt is the schema of the value at path, or nil.
func schemaAt(schema map[string]any, path []string) map[string]any {
	for _, k := range path {
		props, _ := schema["properties"].(map[string]any)
		schema, _ = props[k].(map[string]any)
	}
	return schema
}

// schemaText is what the schema says a value is: its description, or its title.
func schemaText(schema map[string]any, path []string) string {
	s := schemaAt(schema, path)
	desc, _ := s["description"].(string)
	title, _ := s["title"].(string)
	return strings.TrimSpace(firstNonEmptyString(desc, title))
}

// schemaDefault is the schema's default (or first example) for path, else the empty
// value of its type.
func schemaDefault(schema map[string]any, path []string) any {
	s := schemaAt(schema, path)
	if d, ok := s["default"]; ok {
		return d
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	switch s["type"] {
	case "object":
		return map[string]any{}
	case "array":
		return []any{}
	case "integer", "number":
		return 0
	case "boolean":
		return false
	}
	return ""
}

func lookup(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// setPath puts value at path under the mapping node m, creating mappings on the way.
func setPath(m *yaml.Node, path []string, value *yaml.Node, comment string) {
	for i, k := range path {
		var next *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == k {
				next = m.Content[j+1]
			}
		}
		if i == len(path)-1 {
			if next == nil {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k, HeadComment: comment}, value)
			}
			return
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, next)
		}
		m = next
	}
}

// valuesComments reads the comments above each key of the chart's values.yaml, by
// dotted path.
func valuesComments(ch *chart.Chart) map[string]string {
	out := map[string]string{}
	for _, f := range ch.Raw {
		if f.Name != "values.yaml" {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(f.Data, &doc) != nil || len(doc.Content) == 0 {
			return out
		}
		var walk func(n *yaml.Node, at string)
		walk = func(n *yaml.Node, at string) {
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := strings.TrimPrefix(at+"."+k.Value, ".")
				if c := cleanComment(k.HeadComment); c != "" {
					out[p] = c
				}
				walk(n.Content[i+1], p)
			}
		}
		walk(doc.Content[0], "")
	}
	return out
}

// cleanComment keeps the last paragraph of a YAML comment, without its "#"s.
func cleanComment(c string) string {
	paragraphs := strings.Split(strings.TrimSpace(c), "\n\n")
	last := paragraphs[len(paragraphs)-1]
	var lines []string
	for _, l := range strings.Split(last, "\n") {
		lines = append(lines, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#")))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// checkStarter parses what init is about to write with the server's rules and renders
// it for a placeholder commit, returning how many objects it renders.
func checkStarter(cmd *cobra.Command, renderer *manifests.Renderer, file string, data []byte, o initOptions) (int, error) {
	configs, err := artifact.ParseEnvConfigs(file, data)
	if err != nil {
		return 0, err
	}
	a := artifact.New(artifact.Version{RepositoryName: firstNonEmptyString(o.repository, "local/"+o.app), SHA: placeholderSHA, Branch: "main", Event: artifact.EventPush}, nil)
	a.Environments = configs
	rendered, err := (&commands.Releaser{Renderer: renderer}).Render(cmd.Context(), a, o.env, o.app)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rendered {
		n += len(r.Files)
	}
	return n, nil
}
