// Package artifact is Auger's model of what can be released: the artifact, a JSON
// record of one releasable commit, and the env configs, the .auger/*.yaml files of an
// app repository that say where and how that commit runs.
//
// An Artifact names its commit (Version: repository, sha, branch or tag, and the event
// that made it releasable: push, pr or tag), carries allow-listed CI variables as
// Context, links as Items, and one EnvConfig per environment it can go to. Artifacts
// are written by Auger (from the commit's .auger/ folder) or by CI (FromCI, New), stored
// on GitHub as check runs, and read back with Parse, which is strict: unknown fields,
// wrong kinds, secrets in the context and invalid env configs are all errors, reported
// together as a *ValidationError with exact paths (environments[1].chart.version).
//
// An EnvConfig says which app goes to which environment, rendered from which Helm chart
// with which values, and when: its Deploy policy releases matching artifacts without a
// human (MatchDeploy), its Cleanup policy removes preview apps when their branch goes
// (MatchCleanup). ParseEnvConfigs and LoadEnvConfigDir read them from YAML, strictly,
// with file:line in every problem so Auger can annotate the offending line.
//
// Names, values and manifests of an env config may be Go templates. Resolve renders
// them against the artifact (Vars: its context, then SHA, SHORT_SHA, BRANCH, TAG, EVENT,
// REPO, OWNER, REPO_NAME, PR, APP, ENV, which the context cannot override) with sprig's
// hermetic functions minus anything that reads the environment, is random or costs
// seconds, plus sanitizeDNSName. Templates come from app repositories but run in the
// shared server, so each Resolve is bounded in output, memory, loop iterations and time.
// After templating, app, env and namespace must be DNS-1123 labels: they become paths
// in the gitops repository and Kubernetes names, so "../x" and "a/b" never get there.
//
// Values are JSON-compatible trees: map[string]any, []any, string, bool, nil, and
// numbers as int64 when whole (uint64 beyond int64), float64 otherwise, whether they
// came from YAML or JSON. Marshal then Parse gives the same artifact, byte for byte.
//
// Apart from LoadEnvConfigDir reading a folder, all of this is pure: no network, no
// clock beyond New's timestamp. Rendering manifests belongs to package manifests.
package artifact
