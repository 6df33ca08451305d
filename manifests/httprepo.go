package manifests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// fetchHTTP finds src's version in the repository's index.yaml and downloads its archive.
func (r *Renderer) fetchHTTP(ctx context.Context, src source) ([]byte, error) {
	indexURL := src.origin + "/index.yaml"
	data, err := r.get(ctx, indexURL, r.maxIndex, "index.yaml")
	if err != nil {
		return nil, err
	}
	var index repo.IndexFile
	if err := yaml.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("parse %s: %w", indexURL, err)
	}
	var found *repo.ChartVersion
	var versions []string
	for _, cv := range index.Entries[src.name] {
		if cv == nil || cv.Metadata == nil {
			continue
		}
		if cv.Version == src.version {
			found = cv
			break
		}
		if len(versions) < 10 {
			versions = append(versions, cv.Version)
		}
	}
	if found == nil {
		if len(index.Entries[src.name]) == 0 {
			return nil, fmt.Errorf("chart %s is not in %s", src.name, indexURL)
		}
		return nil, fmt.Errorf("chart %s has no version %s in %s (versions include %s)", src.name, src.version, indexURL, strings.Join(versions, ", "))
	}
	if len(found.URLs) == 0 {
		return nil, fmt.Errorf("chart %s %s has no URL in %s", src.name, src.version, indexURL)
	}
	chartURL, err := repo.ResolveReferenceURL(src.origin, found.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s %s in %s: %w", src.name, src.version, indexURL, err)
	}
	if !strings.HasPrefix(chartURL, "https://") && !strings.HasPrefix(chartURL, "http://") {
		return nil, fmt.Errorf("chart %s %s in %s: URL %s is not http(s)", src.name, src.version, indexURL, chartURL)
	}
	if err := r.checkAllowedURL(chartURL); err != nil {
		return nil, err
	}
	return r.get(ctx, chartURL, r.maxArchive, "chart archive")
}

// get downloads u, refusing responses over limit bytes.
func (r *Renderer) get(ctx context.Context, u string, limit int64, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "auger")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("get %s: %s is %w: %d bytes, the limit is %d", u, what, errTooLarge, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(newLimitReader(resp.Body, limit, what))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	return data, nil
}
