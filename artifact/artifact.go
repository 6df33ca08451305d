package artifact

import "time"

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
	Manifests string   `json:"manifests,omitempty" yaml:"manifests"`
	Deploy    *Deploy  `json:"deploy,omitempty" yaml:"deploy"`
	Cleanup   *Cleanup `json:"cleanup,omitempty" yaml:"cleanup"`
	Preview   bool     `json:"preview,omitempty" yaml:"preview"`
	// File is the .auger/ file this config came from (for messages and annotations).
	File string `json:"file,omitempty" yaml:"-"`
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
// Branch and Tag are globs; a leading "!" negates.
type Deploy struct {
	Branch string `json:"branch,omitempty" yaml:"branch"`
	Tag    string `json:"tag,omitempty" yaml:"tag"`
	Event  Event  `json:"event,omitempty" yaml:"event"`
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
