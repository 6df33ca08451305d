package agent

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// maxPods is how many pods a ReleaseState lists at most.
const maxPods = 10

// Objects are what the agent's informers hold for one environment, already filtered to
// app.kubernetes.io/managed-by=auger and the environment's label. Nil entries are skipped.
type Objects struct {
	Deployments  []*appsv1.Deployment
	StatefulSets []*appsv1.StatefulSet
	DaemonSets   []*appsv1.DaemonSet
	// ReplicaSets of the Deployments; the current release's tell why pods are not created.
	ReplicaSets []*appsv1.ReplicaSet
	Pods        []*corev1.Pod
	// Events about the pods: FailedScheduling, and the kubelet's "Failed to pull image".
	Events []*corev1.Event
	// Flux is the environment's Flux Kustomization; nil when Flux is absent.
	Flux *FluxState
	// FluxApplied says, per Key of a release, whether Flux has applied the gitops revision
	// that holds it. A missing key means unknown, which never makes a release wait. It is
	// keyed by Key rather than by release id because one artifact can be released to
	// several apps, in different gitops commits.
	FluxApplied map[string]bool
}

// Key identifies a release within an environment, "namespace/app/release", for coalescing
// states. The release id may itself contain "/"; the key is for comparison, not parsing.
func Key(s ReleaseState) string {
	return s.Namespace + "/" + s.App + "/" + s.Release
}

// Invalid returns why an object that carries app.kubernetes.io/managed-by=auger cannot be
// attributed to a release (a missing auger.dev/app label or auger.dev/release annotation),
// or "" when it can, or when it is not Auger's. For workloads and ReplicaSets the pod
// template's annotations count, the object's own being the fallback. Evaluate skips such
// objects; the caller logs them.
func Invalid(obj metav1.Object) string {
	if obj == nil {
		return "no object"
	}
	if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.IsNil() {
		return "no object"
	}
	if obj.GetLabels()[LabelManagedBy] != ManagedByAuger {
		return ""
	}
	_, problem := identify(obj, podTemplate(obj))
	return problem
}

// Evaluate turns one environment's objects into one ReleaseState per (namespace, app,
// release) found among its Deployments, StatefulSets and DaemonSets, sorted by namespace,
// app and release. It is a pure function of its input: the same objects in any order give
// the same states.
//
// A workload belongs to the release its pod template's auger.dev/release annotation names
// (the object's annotation is the fallback), with the app of its auger.dev/app label. A
// pod belongs to a release when its own labels and annotations say so and a ReplicaSet,
// StatefulSet or DaemonSet controls it: pods of the previous release, bare pods, Jobs' pods
// and pods being deleted are not looked at.
//
// The phase is, in this order:
//   - failed, when a pod of the release fails or a Deployment exceeded its progress
//     deadline; when several do, the most specific reason wins (OOMKilled, CrashLoop,
//     ImagePullFailed, ContainerConfigError, Unschedulable, ProgressDeadlineExceeded), then
//     the pod's name;
//   - failed with FluxApplyFailed, for every release, when Flux is present, not ready and
//     says why;
//   - available, when every workload observed its spec and has all its replicas updated,
//     ready and available;
//   - waiting, when Flux is present and FluxApplied says its revision is not applied yet;
//   - progressing otherwise, with why pods cannot be created as the message, if known.
//
// Pods lists at most 10 pods of the release: failing ones first, the worst first, then by
// name.
func Evaluate(o Objects) []ReleaseState {
	events := indexEvents(o.Events)
	releases := map[releaseKey]*release{}
	add := func(w workload, ok bool) {
		if !ok {
			return
		}
		r := releases[w.id.key]
		if r == nil {
			r = &release{key: w.id.key}
			releases[w.id.key] = r
		}
		r.workloads = append(r.workloads, w)
	}
	for _, d := range o.Deployments {
		add(fromDeployment(d))
	}
	for _, s := range o.StatefulSets {
		add(fromStatefulSet(s))
	}
	for _, d := range o.DaemonSets {
		add(fromDaemonSet(d))
	}
	for _, rs := range o.ReplicaSets {
		if rs == nil {
			continue
		}
		id, problem := identify(rs, &rs.Spec.Template)
		if r := releases[id.key]; r != nil && problem == "" {
			r.replicaSets = append(r.replicaSets, rs)
		}
	}
	for _, p := range o.Pods {
		if key, ok := podKey(p); ok {
			if r := releases[key]; r != nil {
				r.pods = append(r.pods, p)
			}
		}
	}

	keys := make([]releaseKey, 0, len(releases))
	for k := range releases {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b releaseKey) int {
		return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.app, b.app), strings.Compare(a.release, b.release))
	})
	states := make([]ReleaseState, 0, len(keys))
	for _, k := range keys {
		states = append(states, releases[k].state(o, events))
	}
	return states
}

// releaseKey is (namespace, app, release).
type releaseKey struct{ namespace, app, release string }

// identity is what Auger's labels and annotations say about an object.
type identity struct {
	key             releaseKey
	repository, sha string
}

// identify reads an object's identity: the app from its labels, the release, repository
// and SHA from the pod template's annotations when they name a release, else from the
// object's. The problem is non-empty when the app or the release is missing.
func identify(obj metav1.Object, template *corev1.PodTemplateSpec) (identity, string) {
	annotations := obj.GetAnnotations()
	if template != nil && template.Annotations[AnnotationRelease] != "" {
		annotations = template.Annotations
	}
	id := identity{
		key:        releaseKey{namespace: obj.GetNamespace(), app: obj.GetLabels()[LabelApp], release: annotations[AnnotationRelease]},
		repository: annotations[AnnotationRepository],
		sha:        annotations[AnnotationSHA],
	}
	var missing []string
	if id.key.app == "" {
		missing = append(missing, "label "+LabelApp)
	}
	if id.key.release == "" {
		missing = append(missing, "annotation "+AnnotationRelease)
	}
	if len(missing) > 0 {
		return id, "missing " + strings.Join(missing, " and ")
	}
	return id, ""
}

// podTemplate returns the pod template of the kinds that have one, else nil.
func podTemplate(obj metav1.Object) *corev1.PodTemplateSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template
	case *appsv1.StatefulSet:
		return &o.Spec.Template
	case *appsv1.DaemonSet:
		return &o.Spec.Template
	case *appsv1.ReplicaSet:
		return &o.Spec.Template
	}
	return nil
}

// workload is one Deployment, StatefulSet or DaemonSet of a release.
type workload struct {
	id       identity
	uid      types.UID
	state    WorkloadState
	complete bool
	failure  *issue // a progress deadline exceeded
	stalled  string // why pods cannot be created
}

// newWorkload identifies a workload and checks its counts; ok is false when it is not
// Auger's or Invalid.
func newWorkload(obj metav1.Object, template *corev1.PodTemplateSpec, kind string, observedGeneration int64, desired, updated, ready, available int32) (w workload, ok bool) {
	if obj.GetLabels()[LabelManagedBy] != ManagedByAuger {
		return workload{}, false
	}
	id, problem := identify(obj, template)
	if problem != "" {
		return workload{}, false
	}
	w = workload{
		id:    id,
		uid:   obj.GetUID(),
		state: WorkloadState{Kind: kind, Name: obj.GetName(), Desired: desired, Updated: updated, Ready: ready, Available: available},
	}
	w.complete = observedGeneration >= obj.GetGeneration() && updated == desired && ready == desired && available == desired
	return w, true
}

func fromDeployment(d *appsv1.Deployment) (workload, bool) {
	if d == nil {
		return workload{}, false
	}
	st := d.Status
	w, ok := newWorkload(d, &d.Spec.Template, "Deployment", st.ObservedGeneration, replicas(d.Spec.Replicas), st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
	if !ok || st.ObservedGeneration < d.Generation {
		return w, ok // conditions from before the spec changed say nothing about this release
	}
	for _, c := range st.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" && !w.complete:
			msg := cmp.Or(c.Message, fmt.Sprintf("Deployment %s exceeded its progress deadline", d.Name))
			w.failure = &issue{reason: ReasonProgressDeadline, message: msg}
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			w.stalled = c.Message
		}
	}
	return w, ok
}

func fromStatefulSet(s *appsv1.StatefulSet) (workload, bool) {
	if s == nil {
		return workload{}, false
	}
	st := s.Status
	return newWorkload(s, &s.Spec.Template, "StatefulSet", st.ObservedGeneration, replicas(s.Spec.Replicas), st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
}

func fromDaemonSet(d *appsv1.DaemonSet) (workload, bool) {
	if d == nil {
		return workload{}, false
	}
	st := d.Status
	return newWorkload(d, &d.Spec.Template, "DaemonSet", st.ObservedGeneration, st.DesiredNumberScheduled, st.UpdatedNumberScheduled, st.NumberReady, st.NumberAvailable)
}

// replicas is spec.replicas, which the API server defaults to 1.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// podKey is the release of a pod that a workload controls.
func podKey(p *corev1.Pod) (releaseKey, bool) {
	if p == nil || p.DeletionTimestamp != nil {
		return releaseKey{}, false
	}
	owner := metav1.GetControllerOfNoCopy(p)
	if owner == nil || owner.Kind != "ReplicaSet" && owner.Kind != "StatefulSet" && owner.Kind != "DaemonSet" {
		return releaseKey{}, false
	}
	id, problem := identify(p, nil)
	return id.key, problem == ""
}

// release gathers the objects of one release.
type release struct {
	key         releaseKey
	workloads   []workload
	replicaSets []*appsv1.ReplicaSet
	pods        []*corev1.Pod
}

func (r *release) state(o Objects, events eventIndex) ReleaseState {
	s := ReleaseState{Namespace: r.key.namespace, App: r.key.app, Release: r.key.release}
	slices.SortFunc(r.workloads, func(a, b workload) int {
		return cmp.Or(strings.Compare(a.state.Kind, b.state.Kind), strings.Compare(a.state.Name, b.state.Name), strings.Compare(string(a.uid), string(b.uid)))
	})
	complete := true
	var failure *issue
	var stalled string
	for _, w := range r.workloads {
		s.Workloads = append(s.Workloads, w.state)
		s.Repository = cmp.Or(s.Repository, w.id.repository)
		s.SHA = cmp.Or(s.SHA, w.id.sha)
		complete = complete && w.complete
		if w.failure != nil && (failure == nil || rank(w.failure.reason) < rank(failure.reason)) {
			failure = w.failure
		}
		stalled = cmp.Or(stalled, w.stalled)
	}
	slices.SortFunc(r.replicaSets, func(a, b *appsv1.ReplicaSet) int { return strings.Compare(a.Name, b.Name) })
	for _, rs := range r.replicaSets {
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue && c.Message != "" {
				stalled = cmp.Or(stalled, "ReplicaSet "+rs.Name+": "+c.Message)
			}
		}
	}

	pods := make([]podResult, 0, len(r.pods))
	for _, p := range r.pods {
		pods = append(pods, evaluatePod(p, events))
	}
	slices.SortFunc(pods, func(a, b podResult) int {
		return cmp.Or(cmp.Compare(a.rank(), b.rank()), strings.Compare(a.state.Name, b.state.Name), strings.Compare(string(a.uid), string(b.uid)))
	})
	if len(pods) > 0 && pods[0].issue != nil && pods[0].issue.reason != "" &&
		(failure == nil || rank(pods[0].issue.reason) < rank(failure.reason)) {
		failure = pods[0].issue
	}
	for _, p := range pods[:min(len(pods), maxPods)] {
		s.Pods = append(s.Pods, p.state)
	}

	if o.Flux != nil {
		flux := *o.Flux
		s.Flux = &flux
	}
	applied, known := o.FluxApplied[Key(s)]
	switch {
	case failure != nil:
		s.Phase, s.Reason, s.Message = PhaseFailed, failure.reason, failure.message
	case o.Flux != nil && !o.Flux.Ready && o.Flux.Message != "":
		s.Phase, s.Reason, s.Message = PhaseFailed, ReasonFluxApply, o.Flux.Message
	case complete:
		s.Phase = PhaseAvailable
	case o.Flux != nil && known && !applied:
		s.Phase = PhaseWaiting
	default:
		s.Phase, s.Message = PhaseProgressing, stalled
	}
	return s
}

// rank orders failure reasons, most specific first; "" (failing in a way no Reason names)
// comes after them all.
func rank(r Reason) int {
	switch r {
	case ReasonOOMKilled:
		return 0
	case ReasonCrashLoop:
		return 1
	case ReasonImagePull:
		return 2
	case ReasonContainerConfig:
		return 3
	case ReasonUnschedulable:
		return 4
	case ReasonProgressDeadline:
		return 5
	}
	return 6
}

// issue is what is wrong with a pod, one of its containers, or a workload.
type issue struct {
	reason        Reason // "" when no Reason names it: the pod is listed as failing, the release does not fail
	container     string
	kubeletReason string // the reason as Kubernetes says it, for PodState.Reason
	detail        string // for PodState.Message
	message       string // for ReleaseState.Message
	exitCode      *int32
}

// podResult is a pod's state and its worst issue, nil when it has none.
type podResult struct {
	uid   types.UID
	state PodState
	issue *issue
}

func (p podResult) rank() int {
	if p.issue == nil {
		return rank("") + 1
	}
	return rank(p.issue.reason)
}

func evaluatePod(p *corev1.Pod, events eventIndex) podResult {
	r := podResult{uid: p.UID, state: PodState{Name: p.Name, Phase: string(p.Status.Phase)}}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			r.state.Ready = c.Status == corev1.ConditionTrue
		}
	}
	statuses := [2][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses}
	for _, list := range statuses {
		for _, cs := range list {
			r.state.Restarts += cs.RestartCount
		}
	}

	switch p.Status.Phase {
	case corev1.PodSucceeded:
	case corev1.PodFailed: // evicted, or its node shut down: the workload replaces it
		r.issue = &issue{kubeletReason: cmp.Or(p.Status.Reason, string(corev1.PodFailed)), detail: p.Status.Message}
	default:
		r.issue = unschedulable(p, events)
		for _, list := range statuses {
			for i := range list {
				if is := containerIssue(p, &list[i], events); is != nil && (r.issue == nil || rank(is.reason) < rank(r.issue.reason)) {
					r.issue = is
				}
			}
		}
	}
	if is := r.issue; is != nil {
		r.state.Container, r.state.Reason, r.state.Message, r.state.ExitCode = is.container, is.kubeletReason, is.detail, is.exitCode
	}
	return r
}

// unschedulable is the scheduler's complaint about a pod, if any.
func unschedulable(p *corev1.Pod, events eventIndex) *issue {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			msg := cmp.Or(c.Message,
				events.latest(p, func(e *corev1.Event) bool { return e.Reason == "FailedScheduling" }),
				fmt.Sprintf("pod %s cannot be scheduled", p.Name))
			return &issue{reason: ReasonUnschedulable, kubeletReason: c.Reason, detail: msg, message: msg}
		}
	}
	return nil
}

// containerIssue is what is wrong with a container, nil when nothing is (running, starting,
// or completed).
func containerIssue(p *corev1.Pod, cs *corev1.ContainerStatus, events eventIndex) *issue {
	prefix := "container " + cs.Name + ": "
	if w := cs.State.Waiting; w != nil {
		is := &issue{container: cs.Name, kubeletReason: w.Reason, detail: w.Message}
		switch w.Reason {
		case "", "ContainerCreating", "PodInitializing":
			return nil
		case "CrashLoopBackOff":
			is.reason, is.detail, is.message = ReasonCrashLoop, "", prefix+w.Reason
			if t := cs.LastTerminationState.Terminated; t != nil {
				if t.Reason == "OOMKilled" {
					is.reason = ReasonOOMKilled
				}
				is.detail = "last terminated: " + termination(t)
				is.message += ", " + is.detail
				is.exitCode = ptr(t.ExitCode)
			}
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			image := cmp.Or(cs.Image, specImage(p, cs.Name))
			msg := w.Message
			if w.Reason == "ImagePullBackOff" { // "Back-off pulling image": the event says why
				msg = cmp.Or(events.latest(p, func(e *corev1.Event) bool {
					return e.Reason == "Failed" && strings.HasPrefix(e.Message, "Failed to pull image") && strings.Contains(e.Message, `"`+image+`"`)
				}), msg)
			}
			is.reason, is.detail = ReasonImagePull, fmt.Sprintf("image %q", image)
			if msg != "" {
				is.detail += ": " + msg
			}
			is.message = prefix + w.Reason + ", " + is.detail
		case "CreateContainerConfigError", "CreateContainerError":
			is.reason, is.message = ReasonContainerConfig, prefix+w.Reason
			if w.Message != "" {
				is.message += ": " + w.Message
			}
		default: // RunContainerError and the like: listed, but not a Reason of its own
			is.message = prefix + w.Reason
		}
		return is
	}
	if t := cs.State.Terminated; t != nil && (t.Reason == "OOMKilled" || t.ExitCode != 0) {
		is := &issue{container: cs.Name, kubeletReason: cmp.Or(t.Reason, "Terminated"), detail: t.Message, message: prefix + "terminated: " + termination(t), exitCode: ptr(t.ExitCode)}
		if t.Reason == "OOMKilled" {
			is.reason = ReasonOOMKilled
		}
		return is
	}
	return nil
}

// termination is "Error (exit code 1)".
func termination(t *corev1.ContainerStateTerminated) string {
	if t.Reason == "" {
		return fmt.Sprintf("exit code %d", t.ExitCode)
	}
	return fmt.Sprintf("%s (exit code %d)", t.Reason, t.ExitCode)
}

// ptr returns a pointer to a copy of v, so that states never alias the informers' objects.
func ptr[T any](v T) *T { return &v }

// specImage is the image a pod's spec gives a container, for statuses that lack it.
func specImage(p *corev1.Pod, container string) string {
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			if c.Name == container {
				return c.Image
			}
		}
	}
	return ""
}

// eventIndex holds the events Evaluate reads, by the pod they are about.
type eventIndex map[types.NamespacedName][]*corev1.Event

func indexEvents(events []*corev1.Event) eventIndex {
	ix := eventIndex{}
	for _, e := range events {
		if e == nil || e.InvolvedObject.Kind != "Pod" || e.Reason != "FailedScheduling" && e.Reason != "Failed" {
			continue
		}
		k := types.NamespacedName{Namespace: cmp.Or(e.InvolvedObject.Namespace, e.Namespace), Name: e.InvolvedObject.Name}
		ix[k] = append(ix[k], e)
	}
	return ix
}

// latest returns the message of the most recent event about this pod (not an earlier one
// of the same name) that match accepts, or "".
func (ix eventIndex) latest(p *corev1.Pod, match func(*corev1.Event) bool) string {
	var best *corev1.Event
	var bestTime time.Time
	for _, e := range ix[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] {
		if e.InvolvedObject.UID != "" && p.UID != "" && e.InvolvedObject.UID != p.UID || !match(e) {
			continue
		}
		t := eventTime(e)
		if best == nil || cmp.Or(t.Compare(bestTime), strings.Compare(e.Name, best.Name), strings.Compare(e.Message, best.Message)) > 0 {
			best, bestTime = e, t
		}
	}
	if best == nil {
		return ""
	}
	return best.Message
}

// eventTime is when an event was last seen, whichever API wrote it.
func eventTime(e *corev1.Event) time.Time {
	t := e.CreationTimestamp.Time
	for _, u := range []time.Time{e.FirstTimestamp.Time, e.LastTimestamp.Time, e.EventTime.Time} {
		if u.After(t) {
			t = u
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}
