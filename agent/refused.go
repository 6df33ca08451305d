package agent

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Bounds on reading Flux's artifact of the gitops repository.
const (
	maxArtifactBytes = 256 << 20
	maxRecordBytes   = 1 << 20
	refusedRetry     = time.Second
)

// releaseRecord is the part of an app folder's release.json (written by package gitops) that
// names the release.
type releaseRecord struct {
	Artifact  string `json:"artifact"`
	App       string `json:"app"`
	Env       string `json:"env"`
	Namespace string `json:"namespace"`
	Version   struct {
		RepositoryName string `json:"repositoryName"`
		SHA            string `json:"sha"`
	} `json:"version"`
}

// refusedCache remembers the releases of the last gitops revision read, and when to retry
// after a failed read.
type refusedCache struct {
	revision string
	records  []releaseRecord
	retryAt  time.Time
}

// refusedReleases finds the releases Flux refused: when Flux could not apply the latest
// gitops revision (a server-side apply error), the objects of a release in it never reach the
// cluster, so no workload tells of that release. Their release.json files do: the agent reads
// them from source-controller's artifact of that revision (what Flux itself applies) and reports
// each release not seen in the cluster as failed with Flux's message.
func (a *Agent) refusedReleases(ctx context.Context, seen []ReleaseState, flux *FluxState) []ReleaseState {
	if flux == nil || flux.Ready || flux.Message == "" || a.flux == nil {
		return nil
	}
	attempted := a.attemptedRevision()
	if attempted == "" || attempted == flux.Revision {
		return nil
	}
	if a.refused.revision != attempted {
		if time.Now().Before(a.refused.retryAt) {
			a.dirty.Store(true)
			return nil
		}
		records, err := a.releasesAt(ctx, attempted)
		if err != nil {
			a.opts.Log.Debug().Err(err).Str("revision", attempted).Msg("reading the releases Flux could not apply")
			a.refused.retryAt = time.Now().Add(refusedRetry)
			a.dirty.Store(true)
			return nil
		}
		a.refused = refusedCache{revision: attempted, records: records}
	}
	known := map[string]bool{}
	for _, s := range seen {
		known[s.App+"/"+s.Release] = true
	}
	var out []ReleaseState
	for _, r := range a.refused.records {
		if r.Env != a.opts.Env || r.Artifact == "" || known[r.App+"/"+r.Artifact] {
			continue
		}
		f := *flux
		out = append(out, ReleaseState{App: r.App, Namespace: r.Namespace, Release: r.Artifact, Repository: r.Version.RepositoryName,
			SHA: r.Version.SHA, Phase: PhaseFailed, Reason: ReasonFluxApply, Message: flux.Message, Flux: &f})
	}
	return out
}

// attemptedRevision is the gitops revision Flux last tried to apply.
func (a *Agent) attemptedRevision() string {
	obj, err := a.flux.ByNamespace(fluxKustomizationNS).Get("auger-" + a.opts.Env)
	if err != nil {
		return ""
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return ""
	}
	rev, _, _ := unstructured.NestedString(u.Object, "status", "lastAttemptedRevision")
	return rev
}

// releasesAt reads every release.json in source-controller's artifact of the environment's
// GitRepository, which must be at revision.
func (a *Agent) releasesAt(ctx context.Context, revision string) ([]releaseRecord, error) {
	repo, err := a.dynamic.Resource(fluxGitRepositories).Namespace(fluxKustomizationNS).Get(ctx, "auger-"+a.opts.Env, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	rev, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "revision")
	url, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "url")
	if rev != revision || url == "" {
		return nil, fmt.Errorf("the GitRepository's artifact is at %q, not %q", rev, revision)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	gz, err := gzip.NewReader(io.LimitReader(resp.Body, maxArtifactBytes))
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	tr := tar.NewReader(gz)
	var records []releaseRecord
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return records, nil
		}
		if err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
		if h.Typeflag != tar.TypeReg || path.Base(h.Name) != "release.json" {
			continue
		}
		var r releaseRecord
		data, err := io.ReadAll(io.LimitReader(tr, maxRecordBytes))
		if err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
		if json.Unmarshal(data, &r) == nil {
			records = append(records, r)
		}
	}
}
