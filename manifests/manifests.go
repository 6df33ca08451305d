package manifests

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/auger-dev/auger/artifact"
)

// Release identifies what is being rendered, for Auger's labels and annotations.
type Release struct {
	ArtifactID string // annotation auger.dev/release
	Repository string // owner/name, annotation auger.dev/repository
	SHA        string // annotation auger.dev/sha
}

// File is one rendered Kubernetes object.
type File struct {
	Name string // "<kind>-<name>.yaml", lower case
	Data []byte
}

// Options configure a Renderer. The zero value is valid.
type Options struct {
	// CacheDir is the on-disk chart cache; default filepath.Join(os.UserCacheDir(),
	// "auger", "charts"). It is created when the first remote chart is fetched.
	CacheDir string
	// AllowedSources restricts where charts may come from; empty allows every source.
	// Entries are URL prefixes or globs, and "local" for local directories (see the
	// package documentation).
	AllowedSources []string
	// HTTPClient fetches HTTP chart repositories, OCI registries and git over HTTP(S);
	// default a client with a 5 minute timeout.
	HTTPClient *http.Client
	// WorkDir is the base of relative local chart paths; default the current directory.
	WorkDir string
}

// Size limits; tests lower them through the Renderer's fields.
const (
	defaultMaxArchive      = 20 << 20  // compressed chart archive
	defaultMaxUncompressed = 50 << 20  // all files of a chart
	defaultMaxIndex        = 50 << 20  // index.yaml of an HTTP chart repository
	defaultMaxGitPack      = 100 << 20 // git pack of one shallow fetch
	defaultHTTPTimeout     = 5 * time.Minute
	maxCachedCharts        = 256 // charts whose files are kept in memory
)

// Renderer renders env configs to manifests. It holds the chart caches and is safe for
// concurrent use.
type Renderer struct {
	cacheDir string
	allowed  []string
	client   *http.Client
	workDir  string

	maxArchive, maxUncompressed, maxIndex, maxGitPack int64

	// mem keeps the validated files of the most recently used remote charts, keyed by
	// source.cacheKey; a chart it evicts is still in the disk cache.
	mem    *lru.Cache[string, []*loader.BufferedFile]
	flight singleflight.Group
}

// NewRenderer returns a Renderer with opts' defaults applied. It fails when an allow-list
// entry is not a valid pattern or a default directory cannot be determined.
func NewRenderer(opts Options) (*Renderer, error) {
	r := &Renderer{
		cacheDir:        opts.CacheDir,
		allowed:         append([]string(nil), opts.AllowedSources...),
		client:          opts.HTTPClient,
		workDir:         opts.WorkDir,
		maxArchive:      defaultMaxArchive,
		maxUncompressed: defaultMaxUncompressed,
		maxIndex:        defaultMaxIndex,
		maxGitPack:      defaultMaxGitPack,
	}
	mem, err := lru.New[string, []*loader.BufferedFile](maxCachedCharts)
	if err != nil {
		return nil, err
	}
	r.mem = mem
	if r.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("chart cache directory: %w", err)
		}
		r.cacheDir = filepath.Join(dir, "auger", "charts")
	}
	if r.workDir == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		r.workDir = dir
	}
	if r.client == nil {
		r.client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	for _, a := range r.allowed {
		if _, err := path.Match(a, ""); err != nil {
			return nil, fmt.Errorf("allowed chart source %q: %w", a, err)
		}
	}
	return r, nil
}

// Render renders one resolved env config (already templated: ec.Values and ec.Manifests
// are final) into files sorted by name. Errors name the chart, the env config's app and
// env, and the template or document at fault.
func (r *Renderer) Render(ctx context.Context, ec artifact.EnvConfig, rel Release) ([]File, error) {
	src, err := parseSource(ec.Chart)
	if err != nil {
		return nil, fmt.Errorf("render chart %s for %s/%s: %w", describe(ec.Chart), ec.App, ec.Env, err)
	}
	files, err := r.render(ctx, src, ec, rel)
	if err != nil {
		return nil, fmt.Errorf("render chart %s for %s/%s: %w", src, ec.App, ec.Env, err)
	}
	return files, nil
}

func (r *Renderer) render(ctx context.Context, src source, ec artifact.EnvConfig, rel Release) ([]File, error) {
	if err := r.checkAllowed(src); err != nil {
		return nil, err
	}
	values, err := normalizeValues(ec.Values)
	if err != nil {
		return nil, err
	}
	ch, err := r.loadChart(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := validateSchema(ch, values); err != nil {
		return nil, err
	}
	docs, err := renderChart(ch, values, ec)
	if err != nil {
		return nil, err
	}
	raw, err := splitRaw(ec.Manifests)
	if err != nil {
		return nil, err
	}
	docs = append(docs, raw...)
	if docs, err = applyPatches(docs, ec); err != nil {
		return nil, err
	}

	post := postProcessor{ec: ec, rel: rel}
	byName := map[string]string{} // file name -> source of the object, to report clashes
	out := make([]File, 0, len(docs))
	for _, d := range docs {
		f, err := post.file(d)
		if err != nil {
			return nil, err
		}
		if f.Name == "" {
			continue // dropped (empty document, test hook)
		}
		if prev, ok := byName[f.Name]; ok {
			return nil, fmt.Errorf("%s and %s both render %s: give the objects different kinds or names", prev, d.source, f.Name)
		}
		byName[f.Name] = d.source
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// renderChart renders ch with values as a first install of ec.App into ec.Namespace and
// returns the documents of its templates and CRDs, in a deterministic order.
func renderChart(ch *chart.Chart, values map[string]any, ec artifact.EnvConfig) ([]document, error) {
	if ch.Metadata != nil && ch.Metadata.Type == "library" {
		return nil, errors.New("a library chart cannot be rendered")
	}
	if err := checkDependencies(ch); err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, fmt.Errorf("process dependencies: %w", err)
	}
	opts := chartutil.ReleaseOptions{Name: ec.App, Namespace: ec.Namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	rendered, err := engine.Engine{Strict: false}.Render(ch, vals)
	if err != nil {
		return nil, err // Helm's errors name the template and line: "template: web/templates/x.yaml:12:3: ..."
	}

	var docs []document
	for _, crd := range ch.CRDObjects() {
		d, err := splitRendered(crd.Filename, string(crd.File.Data))
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		base := path.Base(name)
		if base == "NOTES.txt" || base[0] == '_' {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d, err := splitRendered(name, rendered[name])
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// checkDependencies fails when Chart.yaml declares a dependency that charts/ lacks, as
// `helm install` does; the engine would silently render without it.
func checkDependencies(ch *chart.Chart) error {
	if ch.Metadata == nil {
		return nil
	}
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies %q are declared in Chart.yaml but missing from charts/ (run `helm dependency build`)", missing)
	}
	return nil
}
