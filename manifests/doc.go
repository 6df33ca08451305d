// Package manifests renders an env config to the Kubernetes manifests that Auger commits
// to a gitops repository: one file per object, identical to the byte for the same input.
//
// Renderer.Render loads the chart that ec.Chart names, renders it client-side with Helm's
// engine as `helm template` would for a first install of release <app> into <namespace>
// (no cluster lookups, no DNS, Helm's default capabilities), appends the raw YAML
// documents of ec.Manifests, and post-processes every object: namespaced objects without a
// namespace get ec.Namespace (kinds known to be cluster-scoped are left alone); every
// object, and the pod template of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs
// and CronJobs, gets the labels app.kubernetes.io/managed-by=auger, auger.dev/app and
// auger.dev/env and the annotations auger.dev/release, auger.dev/repository and
// auger.dev/sha. Files are named <kind>-<name>.yaml and sorted; keys are sorted.
//
// Flux applies the output as plain objects, so Helm's release lifecycle does not exist:
// NOTES.txt and partials are dropped, test hooks (helm.sh/hook: test, test-success,
// test-failure) are dropped, every other hook is kept as a plain object (a pre-install Job
// runs when Flux applies it, alongside the rest), and the CRDs of crds/ directories are
// included, as `helm template --include-crds` does. Two objects with the same file name
// (one kind and name in two namespaces, or names that differ only in characters a file name
// cannot hold) are an error, not renamed: a file name identifies one object in every
// release.
//
// Chart sources: an HTTP chart repository (repository https://..., name, exact version),
// an OCI registry (repository oci://host/path), a git repository (name
// https://host/org/repo.git?path=charts/x&ref=v1; http:// and file:// too; ref is a tag,
// branch, full ref or commit hash, default HEAD) or a local directory (repository empty,
// name a path relative to Options.WorkDir). Remote charts are cached on disk, one validated
// .tgz per (source, name, version) written atomically, and the files of the 256 charts
// used last are kept in memory; versions and refs are treated as immutable (a branch ref
// is resolved once), so a warm render makes no network request. The *chart.Chart is rebuilt from the cached files for every render
// because Helm's dependency processing mutates it. Local charts are read on every render.
//
// Hostile charts: downloads and the uncompressed chart are size-capped; archive entries
// other than regular files and directories, absolute paths and ".." are refused; git
// charts are read from git objects, never checked out, and may hold no symlinks.
//
// Options.AllowedSources is the server's guard against an app repository pointing Auger at
// arbitrary hosts. Empty allows everything (the CLI). Otherwise an entry is a URL prefix
// ending at a "/" ("https://charts.example.com", "oci://ghcr.io/myorg/"), a path.Match
// glob over the URL or one of its "/"-prefixes ("https://github.com/myorg/*"), or "local",
// which allows local directories confined to WorkDir (relative, no "..", no symlinks). It
// is checked against the repository (for git, the URL without its query) and against the
// chart URLs an index.yaml names; redirects follow Options.HTTPClient's policy.
package manifests
