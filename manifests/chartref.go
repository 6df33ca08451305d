package manifests

import (
	"context"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/auger-dev/auger/artifact"
)

// ParseChartRef reads a chart reference as one word, as `auger init --chart` takes it:
// "https://charts.example.com/app@1.2.0" or "oci://ghcr.io/org/charts/app@1.2.0" (the
// repository, the chart's name and its exact version), a git URL
// ("https://github.com/org/repo.git?path=charts/app&ref=v1") or a local directory.
func ParseChartRef(ref string) (artifact.Chart, error) {
	if ref == "" {
		return artifact.Chart{}, fmt.Errorf("no chart reference")
	}
	remote := strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "oci://")
	if !remote || strings.Contains(ref, ".git") && !strings.HasPrefix(ref, "oci://") {
		c := artifact.Chart{Name: ref}
		if _, err := parseSource(c); err != nil {
			return artifact.Chart{}, err
		}
		return c, nil
	}
	at := strings.LastIndex(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if at < slash || at < 0 {
		return artifact.Chart{}, fmt.Errorf("chart %q has no version: write <repository>/<name>@<version>", ref)
	}
	c := artifact.Chart{Repository: ref[:slash], Name: ref[slash+1 : at], Version: ref[at+1:]}
	if _, err := parseSource(c); err != nil {
		return artifact.Chart{}, err
	}
	return c, nil
}

// Chart fetches (or finds in the cache) and loads the chart c names, with the
// Renderer's allow-list: for tools that read a chart's defaults and schema.
func (r *Renderer) Chart(ctx context.Context, c artifact.Chart) (*chart.Chart, error) {
	src, err := parseSource(c)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", describe(c), err)
	}
	if err := r.checkAllowed(src); err != nil {
		return nil, fmt.Errorf("chart %s: %w", src, err)
	}
	ch, err := r.loadChart(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", src, err)
	}
	return ch, nil
}
