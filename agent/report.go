package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ReportAPIVersion versions the report body; the server refuses versions it does not know.
const ReportAPIVersion = "auger.dev/v1"

// Labels and annotations Auger puts on everything it renders (see package manifests);
// the agent finds workloads by them.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	ManagedByAuger       = "auger"
	LabelApp             = "auger.dev/app"
	LabelEnv             = "auger.dev/env"
	AnnotationRelease    = "auger.dev/release"
	AnnotationRepository = "auger.dev/repository"
	AnnotationSHA        = "auger.dev/sha"
)

// Report is what an agent sends to POST /api/agent/v1/report: the rollout state of the
// releases it watches in one environment. A Full report lists every release the agent
// knows (after a sync or reconnect); otherwise only those that changed.
type Report struct {
	APIVersion string         `json:"apiVersion"`
	Env        string         `json:"env"`
	Full       bool           `json:"full,omitempty"`
	Releases   []ReleaseState `json:"releases"`
	SentAt     time.Time      `json:"sentAt"`
}

// Phase is where a release's rollout stands.
type Phase string

// The phases of a rollout.
const (
	// PhaseWaiting: Flux has not applied the release's gitops revision yet.
	PhaseWaiting     Phase = "waiting"
	PhaseProgressing Phase = "progressing"
	PhaseAvailable   Phase = "available"
	PhaseFailed      Phase = "failed"
)

// Reason says why a rollout failed (or is stuck).
type Reason string

// The failure reasons the agent recognises.
const (
	ReasonImagePull        Reason = "ImagePullFailed"
	ReasonCrashLoop        Reason = "CrashLoop"
	ReasonOOMKilled        Reason = "OOMKilled"
	ReasonUnschedulable    Reason = "Unschedulable"
	ReasonProgressDeadline Reason = "ProgressDeadlineExceeded"
	ReasonContainerConfig  Reason = "ContainerConfigError"
	ReasonFluxApply        Reason = "FluxApplyFailed"
)

// ReleaseState is the rollout state of one release of one app: (env, app, release).
type ReleaseState struct {
	App        string `json:"app"`
	Namespace  string `json:"namespace"`
	Release    string `json:"release"`    // artifact id, annotation auger.dev/release
	Repository string `json:"repository"` // owner/name, annotation auger.dev/repository
	SHA        string `json:"sha"`        // annotation auger.dev/sha
	Phase      Phase  `json:"phase"`
	Reason     Reason `json:"reason,omitempty"`
	// Message is the human explanation: the scheduler's message, the last termination
	// reason and exit code, Flux's error.
	Message   string          `json:"message,omitempty"`
	Workloads []WorkloadState `json:"workloads,omitempty"`
	Pods      []PodState      `json:"pods,omitempty"`
	Flux      *FluxState      `json:"flux,omitempty"`
}

// WorkloadState is one Deployment (or StatefulSet/DaemonSet) of a release.
type WorkloadState struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Desired   int32  `json:"desired"`
	Updated   int32  `json:"updated"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
}

// PodState is one pod of a release (at most a few are listed: the failing ones first).
type PodState struct {
	Name      string `json:"name"`
	Phase     string `json:"phase"`
	Ready     bool   `json:"ready"`
	Restarts  int32  `json:"restarts"`
	Container string `json:"container,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
	ExitCode  *int32 `json:"exitCode,omitempty"`
}

// FluxState is what Flux's Kustomization for the environment says.
type FluxState struct {
	Kustomization string `json:"kustomization"`
	// Revision is the gitops revision applied last (branch@sha1:<sha>).
	Revision string `json:"revision,omitempty"`
	Ready    bool   `json:"ready"`
	Message  string `json:"message,omitempty"`
}

// Limits a report must respect; a full resync of a large environment stays far below.
const (
	MaxReportBytes    = 8 << 20
	maxReportReleases = 20000
)

// DecodeReport reads one report, refusing what the server must not act on: an unknown
// apiVersion, no environment, too many releases, trailing data.
func DecodeReport(data []byte) (Report, error) {
	if len(data) > MaxReportBytes {
		return Report{}, fmt.Errorf("report is %d bytes, more than the %d accepted", len(data), MaxReportBytes)
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("malformed report: %w", err)
	}
	if dec.More() {
		return Report{}, errors.New("malformed report: data after the JSON object")
	}
	switch {
	case r.APIVersion != ReportAPIVersion:
		return Report{}, fmt.Errorf("unknown apiVersion %q; this server speaks %s", r.APIVersion, ReportAPIVersion)
	case r.Env == "":
		return Report{}, errors.New("report names no env")
	case len(r.Releases) > maxReportReleases:
		return Report{}, fmt.Errorf("report has %d releases, more than the %d accepted", len(r.Releases), maxReportReleases)
	}
	return r, nil
}
