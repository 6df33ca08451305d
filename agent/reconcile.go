package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Flux's objects for an environment, as `auger env create` writes them: auger-<env> in
// flux-system. The agent's RBAC lets it patch only these.
var (
	fluxGitRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	fluxReconciled      = []schema.GroupVersionResource{fluxGitRepositories, fluxKustomizations}
)

// AnnotationReconcileRequestedAt is Flux's annotation that makes a controller reconcile an
// object now: any new value is a new request.
const AnnotationReconcileRequestedAt = "reconcile.fluxcd.io/requestedAt"

const pushesPath = "/api/agent/v1/pushes"

// errNoPushes is a server that does not serve pushesPath (an older one): nothing to poll.
var errNoPushes = errors.New("the server does not tell gitops pushes")

// followPushes long-polls the server's count of gitops writes to this environment and, each
// time it moves, asks Flux to fetch and apply the environment now. Flux's own interval stays
// the fallback when the server or the patch is unavailable.
func (a *Agent) followPushes(ctx context.Context) {
	log := a.opts.Log
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = 500*time.Millisecond, a.opts.MaxBackoff, 0
	var last uint64
	known := false
	for ctx.Err() == nil {
		seq, err := a.pollPushes(ctx, last)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNoPushes):
			log.Info().Msg("the server does not tell gitops pushes: Flux applies releases at its own interval")
			return
		case err != nil:
			wait := bo.NextBackOff()
			log.Debug().Err(err).Dur("retry_in", wait).Msg("polling gitops pushes")
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		bo.Reset()
		// The first answer only sets the count, unless writes happened before this agent
		// started watching: a reconcile then costs Flux one fetch and may save a minute.
		if seq != last && (known || seq > 0) {
			a.RequestReconcile(ctx)
		}
		last, known = seq, true
	}
}

// pollPushes asks the server for the environment's count of gitops writes, answered once
// it differs from after or after the server's wait.
func (a *Agent) pollPushes(ctx context.Context, after uint64) (uint64, error) {
	u := strings.TrimSuffix(a.opts.Server, "/") + pushesPath + "?" + url.Values{"after": {strconv.FormatUint(after, 10)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.opts.Token)
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("poll pushes: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return 0, errNoPushes
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("poll pushes: server answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var answer struct {
		Seq *uint64 `json:"seq"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Seq == nil {
		return 0, fmt.Errorf("poll pushes: unexpected answer %q", body)
	}
	return *answer.Seq, nil
}

// RequestReconcile sets Flux's requestedAt annotation on the environment's GitRepository
// (Flux fetches the new commit) and Kustomization (Flux applies it even if the source's
// artifact event is missed). It only logs failures: Flux's interval still applies the release.
func (a *Agent) RequestReconcile(ctx context.Context) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		AnnotationReconcileRequestedAt: time.Now().UTC().Format(time.RFC3339Nano)}}})
	name := "auger-" + a.opts.Env
	for _, gvr := range fluxReconciled {
		_, err := a.dynamic.Resource(gvr).Namespace(fluxKustomizationNS).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case err == nil:
			a.opts.Log.Debug().Str("resource", gvr.Resource).Str("name", name).Msg("asked Flux to reconcile")
		case apierrors.IsForbidden(err):
			a.opts.Log.Warn().Err(err).Str("resource", gvr.Resource).Str("name", name).
				Msg("cannot ask Flux to reconcile: grant the agent `patch` on this object (deploy/agent/rbac.yaml); Flux applies releases at its interval meanwhile")
		case apierrors.IsNotFound(err):
			a.opts.Log.Debug().Str("resource", gvr.Resource).Str("name", name).Msg("no such Flux object: was `auger env create` applied?")
		default:
			a.opts.Log.Warn().Err(err).Str("resource", gvr.Resource).Str("name", name).Msg("asking Flux to reconcile")
		}
	}
}
