package gitops

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// EnvBootstrap describes the Flux objects that make a cluster apply an environment's
// folder of this gitops repository.
type EnvBootstrap struct {
	Env  string
	Path string
	// SourceURL is where the cluster clones the gitops repository from.
	SourceURL string
	// SecretName, when set, is the Secret holding the credentials Flux clones with.
	SecretName string
}

// CreateEnv writes the Flux bootstrap of an environment (flux/<env>/source.yaml and
// sync.yaml: a GitRepository and a Kustomization of <path>) and a README in <path>, so
// the folder exists before the first release. Running it again changes nothing unless
// the bootstrap differs.
func (r *Repo) CreateEnv(ctx context.Context, b EnvBootstrap, a Actor) (Result, []string, error) {
	t := Target{Env: b.Env, Path: b.Path, App: "x"}
	parts, err := t.folder()
	if err != nil {
		return Result{}, nil, fmt.Errorf("create env: %w", err)
	}
	envParts := parts[:len(parts)-1]
	envPath := strings.Join(envParts, "/")
	files := map[string][]byte{
		"source.yaml": []byte(fluxSource(b, r.opts.Branch)),
		"sync.yaml":   []byte(fluxSync(b, envPath)),
	}
	readme := []byte(fmt.Sprintf("# %s\n\nReleases of environment %s, written by Auger: one folder per app, with the\nrendered objects, a kustomization.yaml listing them and release.json.\nFlux applies this folder (see flux/%s/). Roll back with `auger rollback`, never by hand.\n", b.Env, b.Env, b.Env))
	written := []string{"flux/" + b.Env + "/source.yaml", "flux/" + b.Env + "/sync.yaml", envPath + "/README.md"}
	res, err := r.write(ctx, func(st *state) (*plan, string, error) {
		tree, err := st.w.flatTree(files)
		if err != nil {
			return nil, "", err
		}
		root, err := st.w.replace(st.root, []string{"flux", b.Env}, tree, filemode.Dir)
		if err != nil {
			return nil, "", err
		}
		blob, err := st.w.blob(readme)
		if err != nil {
			return nil, "", err
		}
		if root, err = st.w.replace(root, append(append([]string(nil), envParts...), "README.md"), blob, filemode.Regular); err != nil {
			return nil, "", err
		}
		if root == st.root {
			return nil, "", nil
		}
		return &plan{root: root, subject: "Create environment " + b.Env,
			trailers: Trailers{Action: ActionEnv, Env: b.Env, TriggeredBy: a.TriggeredBy, Trigger: a.Trigger}}, "", nil
	})
	if err != nil {
		return res, nil, fmt.Errorf("create env %s: %w", b.Env, err)
	}
	return res, written, nil
}

func fluxSource(b EnvBootstrap, branch string) string {
	secret := ""
	if b.SecretName != "" {
		secret = "  secretRef:\n    name: " + b.SecretName + "\n"
	}
	return fmt.Sprintf(`# Written by auger env create: where the cluster reads environment %[1]s from.
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: auger-%[1]s
  namespace: flux-system
spec:
  interval: 1m
  url: %[2]s
  ref:
    branch: %[3]s
%[4]s`, b.Env, Redact(b.SourceURL), branch, secret)
}

func fluxSync(b EnvBootstrap, envPath string) string {
	return fmt.Sprintf(`# Written by auger env create: apply the releases in %[2]s/ and prune what they drop.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: auger-%[1]s
  namespace: flux-system
spec:
  interval: 1m
  path: ./%[2]s
  prune: true
  timeout: 5m
  sourceRef:
    kind: GitRepository
    name: auger-%[1]s
`, b.Env, envPath)
}
