package manifests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// maxOCIManifest caps the manifest of a chart; a chart's has a config and one or two layers.
const maxOCIManifest = 1 << 20

// fetchOCI pulls <origin>/<name>:<version> from an OCI registry, as `helm pull` does, and
// returns the chart layer. It talks to the registry with oras-go directly rather than
// through Helm's registry.Client, which takes no context, does not cap layer sizes and
// reads the Docker and Helm credential files of whoever runs Auger. Access is anonymous
// (registries that hand out anonymous pull tokens, like ghcr.io for public packages, work).
func (r *Renderer) fetchOCI(ctx context.Context, src source) ([]byte, error) {
	repoRef := strings.TrimPrefix(src.origin, "oci://") + "/" + src.name
	tag := strings.ReplaceAll(src.version, "+", "_") // OCI tags cannot hold "+"; helm push writes "_"
	ref := "oci://" + repoRef + ":" + tag
	repository, err := remote.NewRepository(repoRef)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	repository.Client = &auth.Client{Client: r.client, Cache: auth.NewCache(), Header: map[string][]string{"User-Agent": {"auger"}}}
	repository.MaxMetadataBytes = maxOCIManifest

	desc, rc, err := repository.FetchReference(ctx, tag)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	data, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("pull %s: manifest: %w", ref, err)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("pull %s: %s is not a Helm chart manifest", ref, desc.MediaType)
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("pull %s: manifest: %w", ref, err)
	}
	if manifest.Config.MediaType != registry.ConfigMediaType {
		return nil, fmt.Errorf("pull %s: config media type %s: not a Helm chart", ref, manifest.Config.MediaType)
	}
	var layer *ocispec.Descriptor
	for i, l := range manifest.Layers {
		if l.MediaType == registry.ChartLayerMediaType || l.MediaType == registry.LegacyChartLayerMediaType {
			layer = &manifest.Layers[i]
			break
		}
	}
	if layer == nil {
		return nil, fmt.Errorf("pull %s: no layer of media type %s", ref, registry.ChartLayerMediaType)
	}
	if layer.Size > r.maxArchive || layer.Size < 0 {
		return nil, fmt.Errorf("pull %s: chart archive is %w: %d bytes, the limit is %d", ref, errTooLarge, layer.Size, r.maxArchive)
	}
	rc, err = repository.Fetch(ctx, *layer)
	if err != nil {
		return nil, fmt.Errorf("pull %s: chart layer: %w", ref, err)
	}
	defer rc.Close()
	chart, err := content.ReadAll(rc, *layer) // verifies size and digest
	if err != nil {
		return nil, fmt.Errorf("pull %s: chart layer: %w", ref, err)
	}
	return chart, nil
}
