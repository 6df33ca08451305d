package artifact

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Artifact is the record of one releasable commit: what was built, from where, and
// how each environment should run it. Field names follow the seed JSON format exactly.
type Artifact struct {
	ID           string            `json:"id"`
	Created      time.Time         `json:"created,omitzero"`
	Version      Version           `json:"version"`
	Context      map[string]string `json:"context,omitempty"`
	Environments []EnvConfig       `json:"environments"`
	Items        []Item            `json:"items,omitempty"`
}

// Version says which commit an artifact was built from and why (event).
type Version struct {
	RepositoryName string `json:"repositoryName"`
	SHA            string `json:"sha"`
	Branch         string `json:"branch,omitempty"`
	Event          Event  `json:"event"`
	SourceBranch   string `json:"sourceBranch,omitempty"`
	TargetBranch   string `json:"targetBranch,omitempty"`
	Tag            string `json:"tag,omitempty"`
	AuthorName     string `json:"authorName,omitempty"`
	AuthorEmail    string `json:"authorEmail,omitempty"`
	CommitterName  string `json:"committerName,omitempty"`
	CommitterEmail string `json:"committerEmail,omitempty"`
	Message        string `json:"message,omitempty"`
	URL            string `json:"url,omitempty"`
}

// Event is what made a commit releasable.
type Event string

// The events an artifact can come from; anything else is invalid.
const (
	EventPush Event = "push"
	EventPR   Event = "pr"
	EventTag  Event = "tag"
)

// Item is a link attached to an artifact: the CI run, the image, a report.
type Item struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// EnvConfig is one document of an app repository's .auger/*.yaml files: which app goes
// to which environment, rendered from which chart with which values, and when.
type EnvConfig struct {
	App       string         `json:"app" yaml:"app"`
	Env       string         `json:"env" yaml:"env"`
	Namespace string         `json:"namespace" yaml:"namespace"`
	Chart     Chart          `json:"chart" yaml:"chart"`
	Values    map[string]any `json:"values,omitempty" yaml:"values"`
	// Manifests holds raw YAML documents appended after the chart's output.
	Manifests string `json:"manifests,omitempty" yaml:"manifests"`
	// StrategicMergePatches holds YAML documents, each a partial object naming its kind
	// and metadata.name, merged into the rendered object of that kind and name
	// (kustomize's strategic merge); JSON6902Patches are JSON patches (RFC 6902), each
	// for the objects its target names. Both apply after Helm and the raw manifests, for
	// what a chart does not expose; a patch that matches no object is an error.
	StrategicMergePatches string          `json:"strategicMergePatches,omitempty" yaml:"strategicMergePatches"`
	JSON6902Patches       []JSON6902Patch `json:"json6902Patches,omitempty" yaml:"json6902Patches"`
	Deploy                *Deploy         `json:"deploy,omitempty" yaml:"deploy"`
	Cleanup               *Cleanup        `json:"cleanup,omitempty" yaml:"cleanup"`
	Preview               bool            `json:"preview,omitempty" yaml:"preview"`
	// File is the .auger/ file this config came from (for messages and annotations).
	File string `json:"file,omitempty" yaml:"-"`

	// source is the YAML the config was parsed from, for the lines of Line; nil for a
	// config read from an artifact's JSON.
	source *yaml.Node
}

// JSON6902Patch is one JSON patch (RFC 6902) of an env config: Patch holds its
// operations, as YAML or JSON, applied to every rendered object Target names.
type JSON6902Patch struct {
	Target PatchTarget `json:"target" yaml:"target"`
	Patch  string      `json:"patch" yaml:"patch"`
}

// PatchTarget names the objects a JSON patch applies to: Kind and Name are required;
// Group, Version and Namespace, when set, narrow the match.
type PatchTarget struct {
	Group     string `json:"group,omitempty" yaml:"group"`
	Version   string `json:"version,omitempty" yaml:"version"`
	Kind      string `json:"kind" yaml:"kind"`
	Name      string `json:"name" yaml:"name"`
	Namespace string `json:"namespace,omitempty" yaml:"namespace"`
}

// Chart names a Helm chart: an HTTP chart repository (Repository https://..., Name,
// Version), an OCI registry (Repository oci://...), a git repository (Name
// https://host/org/repo.git?path=charts/x&ref=v1) or a local directory (Name a path,
// Repository empty).
type Chart struct {
	Repository string `json:"repository,omitempty" yaml:"repository"`
	Name       string `json:"name" yaml:"name"`
	Version    string `json:"version,omitempty" yaml:"version"`
}

// Deploy is a deploy policy: an artifact matching it is released without a human.
// Branch and Tag are globs; a leading "!" negates. CommitMessagePatterns, when set,
// also require the commit message to match one of its globs ("*" crossing everything,
// new lines included) and none of its "!" ones.
type Deploy struct {
	Branch                string   `json:"branch,omitempty" yaml:"branch"`
	Tag                   string   `json:"tag,omitempty" yaml:"tag"`
	Event                 Event    `json:"event,omitempty" yaml:"event"`
	CommitMessagePatterns []string `json:"commitMessagePatterns,omitempty" yaml:"commitMessagePatterns"`
}

// Cleanup is a cleanup policy: when a matching branch is deleted or its pull request
// closed, the app (a template, usually of a preview) is deleted from the environment.
type Cleanup struct {
	Event  CleanupEvent `json:"event" yaml:"event"`
	Branch string       `json:"branch,omitempty" yaml:"branch"`
	App    string       `json:"app" yaml:"app"`
}

// CleanupEvent is what triggers a cleanup.
type CleanupEvent string

// The events a cleanup policy can name.
const (
	CleanupPRClosed      CleanupEvent = "prClosed"
	CleanupBranchDeleted CleanupEvent = "branchDeleted"
)
