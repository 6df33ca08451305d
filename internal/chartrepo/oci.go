package chartrepo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/registry"
)

// ServeOCI packages the given chart directories and serves them from an OCI registry over
// HTTPS, as `helm push` would store them: repository charts/<name>, tag <version> (with
// "+" written as "_"), a Helm config blob and one chart layer. It implements the pull side
// of the OCI distribution API only (GET/HEAD /v2/, manifests by tag or digest, blobs),
// anonymously. Clients must trust the server's certificate: use srv.Client(). Charts are
// at oci://<srv.Listener.Addr()>/charts.
func ServeOCI(t testing.TB, chartDirs ...string) (*httptest.Server, *Counter) {
	t.Helper()
	blobs := map[digest.Digest][]byte{}
	manifests := map[string][]byte{} // "<repository>:<tag or digest>"
	for _, d := range chartDirs {
		_, data, md := Package(t, d)
		config, err := json.Marshal(md)
		if err != nil {
			t.Fatal(err)
		}
		configDesc := ocispec.Descriptor{MediaType: registry.ConfigMediaType, Digest: digest.FromBytes(config), Size: int64(len(config))}
		layerDesc := ocispec.Descriptor{MediaType: registry.ChartLayerMediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		manifest, err := json.Marshal(ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    configDesc,
			Layers:    []ocispec.Descriptor{layerDesc},
		})
		if err != nil {
			t.Fatal(err)
		}
		blobs[configDesc.Digest] = config
		blobs[layerDesc.Digest] = data
		repoName := "charts/" + md.Name
		manifests[repoName+":"+strings.ReplaceAll(md.Version, "+", "_")] = manifest
		manifests[repoName+":"+digest.FromBytes(manifest).String()] = manifest
	}

	counter := &Counter{}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "read-only registry", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/v2/")
		if p == "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
			return
		}
		if repoName, ref, ok := strings.Cut(p, "/manifests/"); ok {
			m, found := manifests[repoName+":"+ref]
			if !found {
				ociError(w, http.StatusNotFound, "MANIFEST_UNKNOWN")
				return
			}
			serveContent(w, r, ocispec.MediaTypeImageManifest, m)
			return
		}
		if _, d, ok := strings.Cut(p, "/blobs/"); ok {
			b, found := blobs[digest.Digest(d)]
			if !found {
				ociError(w, http.StatusNotFound, "BLOB_UNKNOWN")
				return
			}
			serveContent(w, r, "application/octet-stream", b)
			return
		}
		ociError(w, http.StatusNotFound, "NAME_UNKNOWN")
	})
	srv := httptest.NewTLSServer(counter.wrap(mux))
	t.Cleanup(srv.Close)
	return srv, counter
}

func serveContent(w http.ResponseWriter, r *http.Request, mediaType string, data []byte) {
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Docker-Content-Digest", digest.FromBytes(data).String())
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

func ociError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"not found"}]}`))
}
