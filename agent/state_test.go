package agent_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/auger-dev/auger/agent"
)

const ns = "shop"

// marks returns Auger's labels for app and annotations for release.
func marks(app, release string) (map[string]string, map[string]string) {
	labels := map[string]string{agent.LabelManagedBy: agent.ManagedByAuger, agent.LabelApp: app, agent.LabelEnv: "production"}
	annotations := map[string]string{agent.AnnotationRelease: release, agent.AnnotationRepository: "acme/" + app, agent.AnnotationSHA: "sha-" + release}
	return labels, annotations
}

// deployment is a Deployment named app of one release, rolled out with n replicas.
func deployment(app, release string, n int32, mods ...func(*appsv1.Deployment)) *appsv1.Deployment {
	labels, annotations := marks(app, release)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, UID: types.UID("deploy-" + app), Generation: 3, Labels: labels, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
		}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n},
	}
	for _, mod := range mods {
		mod(d)
	}
	return d
}

// rolling sets a Deployment's updated, ready and available counts.
func rolling(updated, ready, available int32) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = updated, ready, available
	}
}

// deploymentCondition adds a condition to a Deployment's status.
func deploymentCondition(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: message})
	}
}

// unobserved makes the Deployment's status older than its spec.
func unobserved(d *appsv1.Deployment) { d.Status.ObservedGeneration = d.Generation - 1 }

// statefulSet is a StatefulSet named app of one release, rolled out with n replicas.
func statefulSet(app, release string, n int32, updated int32) *appsv1.StatefulSet {
	labels, annotations := marks(app, release)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, Generation: 1, Labels: labels, Annotations: annotations},
		Spec: appsv1.StatefulSetSpec{Replicas: &n, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
		}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: n, UpdatedReplicas: updated, ReadyReplicas: n, AvailableReplicas: n},
	}
}

// daemonSet is a DaemonSet named app of one release on n nodes, updated on some.
func daemonSet(app, release string, n int32, updated int32) *appsv1.DaemonSet {
	labels, annotations := marks(app, release)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, Generation: 1, Labels: labels, Annotations: annotations},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
		}},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: n, UpdatedNumberScheduled: updated, NumberReady: n, NumberAvailable: n},
	}
}

// replicaSet is the ReplicaSet of a Deployment's release.
func replicaSet(app, release string, conditions ...appsv1.ReplicaSetCondition) *appsv1.ReplicaSet {
	labels, annotations := marks(app, release)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-" + release, Namespace: ns, Labels: labels, Annotations: annotations},
		Spec:       appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}}},
		Status:     appsv1.ReplicaSetStatus{Conditions: conditions},
	}
}

// pod is a running, ready pod of a release with one container, web, that a ReplicaSet
// controls.
func pod(app, release, name string, mods ...func(*corev1.Pod)) *corev1.Pod {
	labels, annotations := marks(app, release)
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + release, Controller: &yes}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "ghcr.io/acme/" + app + ":" + release}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Image: "ghcr.io/acme/" + app + ":" + release, Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			}},
		},
	}
	for _, mod := range mods {
		mod(p)
	}
	return p
}

// notReady marks a pod not ready.
func notReady(p *corev1.Pod) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
}

// container sets the status of a pod's container, adding it when missing, and marks the
// pod not ready.
func container(name string, set func(*corev1.ContainerStatus)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		notReady(p)
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == name {
				set(&p.Status.ContainerStatuses[i])
				return
			}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: "ghcr.io/acme/" + name + ":1"})
		set(&p.Status.ContainerStatuses[len(p.Status.ContainerStatuses)-1])
	}
}

// waiting makes a container wait for a reason.
func waiting(name, reason, message string) func(*corev1.Pod) {
	return container(name, func(cs *corev1.ContainerStatus) {
		cs.Ready, cs.State = false, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	})
}

// crashLoop makes a container back off after terminating for a reason with an exit code.
func crashLoop(name, lastReason string, exitCode int32) func(*corev1.Pod) {
	return container(name, func(cs *corev1.ContainerStatus) {
		cs.Ready, cs.RestartCount = false, 4
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s restarting failed container"}}
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: lastReason, ExitCode: exitCode}}
	})
}

// terminated makes a container terminated for a reason with an exit code.
func terminated(name, reason string, exitCode int32) func(*corev1.Pod) {
	return container(name, func(cs *corev1.ContainerStatus) {
		cs.Ready, cs.State = false, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode}}
	})
}

// initCrashLoop adds an init container that crash-loops.
func initCrashLoop(name string, exitCode int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		notReady(p)
		p.Status.Phase = corev1.PodPending
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{
			Name: name, RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: exitCode}},
		})
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	}
}

// unschedulable makes a pod pending, rejected by the scheduler with a message.
func unschedulable(message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message}}
		p.Status.ContainerStatuses = nil
	}
}

// ownedBy makes a pod's controller a kind; "" removes its owner.
func ownedBy(kind string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if kind == "" {
			p.OwnerReferences = nil
			return
		}
		p.OwnerReferences[0].Kind = kind
	}
}

// event is a warning about a pod, last seen at minute min.
func event(podName, reason, message string, min int) *corev1.Event {
	at := metav1.NewTime(time.Date(2025, 1, 1, 12, min, 0, 0, time.UTC))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d", podName, min), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: podName, UID: types.UID("uid-" + podName)},
		Reason:         reason, Message: message, Type: corev1.EventTypeWarning,
		FirstTimestamp: at, LastTimestamp: at,
	}
}

// summary is one line per state: key, phase, reason and message.
func summary(states []agent.ReleaseState) []string {
	lines := []string{}
	for _, s := range states {
		fields := []string{agent.Key(s), string(s.Phase)}
		for _, f := range []string{string(s.Reason), s.Message} {
			if f != "" {
				fields = append(fields, f)
			}
		}
		lines = append(lines, strings.Join(fields, " "))
	}
	return lines
}

func TestEvaluate(t *testing.T) {
	notApplied := map[string]bool{"shop/web/r2": false}
	fluxReady := &agent.FluxState{Kustomization: "flux-system/auger-production", Ready: true}
	fluxRefused := &agent.FluxState{Kustomization: "flux-system/auger-production", Message: `Deployment/shop/web dry-run failed: spec.replicas: Invalid value: "x"`}
	tests := map[string]struct {
		objects agent.Objects
		want    []string
	}{
		"nothing": {want: []string{}},
		"available": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2)}, Pods: []*corev1.Pod{pod("web", "r2", "web-a"), pod("web", "r2", "web-b")}},
			want:    []string{"shop/web/r2 available"},
		},
		"zero replicas are available": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 0)}},
			want:    []string{"shop/web/r2 available"},
		},
		"progressing while pods are updated": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 3, rolling(1, 1, 1))}},
			want:    []string{"shop/web/r2 progressing"},
		},
		"progressing while ready pods are not yet available": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 3, rolling(3, 3, 2))}},
			want:    []string{"shop/web/r2 progressing"},
		},
		"progressing until the controller observed the spec": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, unobserved)}},
			want:    []string{"shop/web/r2 progressing"},
		},
		"progressing says why pods are not created": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))},
				ReplicaSets: []*appsv1.ReplicaSet{replicaSet("web", "r1"), replicaSet("web", "r2", appsv1.ReplicaSetCondition{
					Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "web-r2-x" is forbidden: exceeded quota: compute`,
				})},
			},
			want: []string{`shop/web/r2 progressing ReplicaSet web-r2: pods "web-r2-x" is forbidden: exceeded quota: compute`},
		},
		"progressing says why pods are not created, from the Deployment": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0),
				deploymentCondition(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "FailedCreate", "admission webhook denied the request"))}},
			want: []string{"shop/web/r2 progressing admission webhook denied the request"},
		},
		"image pull": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "ErrImagePull", "rpc error: code = NotFound desc = not found"))},
			},
			want: []string{`shop/web/r2 failed ImagePullFailed container web: ErrImagePull, image "ghcr.io/acme/web:r2": rpc error: code = NotFound desc = not found`},
		},
		"image pull back-off explained by the latest pull event": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "ImagePullBackOff", `Back-off pulling image "ghcr.io/acme/web:r2"`))},
				Events: []*corev1.Event{
					event("web-a", "Failed", `Failed to pull image "ghcr.io/acme/web:r2": 401 Unauthorized`, 2),
					event("web-a", "Failed", `Failed to pull image "ghcr.io/acme/web:r2": 404 Not Found`, 3),
					event("web-a", "Failed", "Error: ImagePullBackOff", 4),
					event("web-a", "Failed", `Failed to pull image "ghcr.io/acme/sidecar:1": timeout`, 5),
				},
			},
			want: []string{`shop/web/r2 failed ImagePullFailed container web: ImagePullBackOff, image "ghcr.io/acme/web:r2": Failed to pull image "ghcr.io/acme/web:r2": 404 Not Found`},
		},
		"image pull back-off ignores events of an earlier pod of the same name": {
			objects: agent.Objects{
				StatefulSets: []*appsv1.StatefulSet{statefulSet("db", "r2", 1, 1)},
				Pods:         []*corev1.Pod{pod("db", "r2", "db-0", ownedBy("StatefulSet"), waiting("web", "ImagePullBackOff", "Back-off pulling image"))},
				Events: []*corev1.Event{func() *corev1.Event {
					e := event("db-0", "Failed", `Failed to pull image "ghcr.io/acme/db:r2": 404 Not Found`, 3)
					e.InvolvedObject.UID = "uid-earlier-db-0"
					return e
				}()},
			},
			want: []string{`shop/db/r2 failed ImagePullFailed container web: ImagePullBackOff, image "ghcr.io/acme/db:r2": Back-off pulling image`},
		},
		"invalid image name": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "InvalidImageName", `couldn't parse image name "Web:r2"`))},
			},
			want: []string{`shop/web/r2 failed ImagePullFailed container web: InvalidImageName, image "ghcr.io/acme/web:r2": couldn't parse image name "Web:r2"`},
		},
		"image never pulled": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "ErrImageNeverPull", ""))},
			},
			want: []string{`shop/web/r2 failed ImagePullFailed container web: ErrImageNeverPull, image "ghcr.io/acme/web:r2"`},
		},
		"crash loop": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", crashLoop("web", "Error", 1))},
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 1)"},
		},
		"crash loop without a last state": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "CrashLoopBackOff", "back-off 10s"))},
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff"},
		},
		"crash loop of an init container": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", initCrashLoop("migrate", 2))},
			},
			want: []string{"shop/web/r2 failed CrashLoop container migrate: CrashLoopBackOff, last terminated: Error (exit code 2)"},
		},
		"out of memory in a crash loop": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", crashLoop("web", "OOMKilled", 137))},
			},
			want: []string{"shop/web/r2 failed OOMKilled container web: CrashLoopBackOff, last terminated: OOMKilled (exit code 137)"},
		},
		"out of memory, terminated": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", terminated("web", "OOMKilled", 137))},
			},
			want: []string{"shop/web/r2 failed OOMKilled container web: terminated: OOMKilled (exit code 137)"},
		},
		"running after an earlier OOM kill is fine": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1)},
				Pods: []*corev1.Pod{pod("web", "r2", "web-a", container("web", func(cs *corev1.ContainerStatus) {
					cs.RestartCount = 1
					cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}
				}))},
			},
			want: []string{"shop/web/r2 available"},
		},
		"container config": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "CreateContainerConfigError", `couldn't find key DB_URL in Secret shop/db`))},
			},
			want: []string{"shop/web/r2 failed ContainerConfigError container web: CreateContainerConfigError: couldn't find key DB_URL in Secret shop/db"},
		},
		"container creation": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "CreateContainerError", `configmap "web" not found`))},
			},
			want: []string{`shop/web/r2 failed ContainerConfigError container web: CreateContainerError: configmap "web" not found`},
		},
		"unschedulable": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", unschedulable("0/3 nodes are available: 3 Insufficient cpu."))},
			},
			want: []string{"shop/web/r2 failed Unschedulable 0/3 nodes are available: 3 Insufficient cpu."},
		},
		"unschedulable, explained by the latest scheduling event": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", unschedulable(""))},
				Events: []*corev1.Event{
					event("web-a", "FailedScheduling", "0/3 nodes are available: 3 Insufficient memory.", 9),
					event("web-a", "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", 7),
					event("web-b", "FailedScheduling", "0/3 nodes are available: 1 node(s) had untolerated taint.", 10),
				},
			},
			want: []string{"shop/web/r2 failed Unschedulable 0/3 nodes are available: 3 Insufficient memory."},
		},
		"unschedulable, unexplained": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", unschedulable(""))},
			},
			want: []string{"shop/web/r2 failed Unschedulable pod web-a cannot be scheduled"},
		},
		"progress deadline": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(1, 1, 1),
				deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", `ReplicaSet "web-r2" has timed out progressing.`))}},
			want: []string{`shop/web/r2 failed ProgressDeadlineExceeded ReplicaSet "web-r2" has timed out progressing.`},
		},
		"progress deadline of the previous spec is not this release's": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(1, 1, 1), unobserved,
				deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", `ReplicaSet "web-r1" has timed out progressing.`))}},
			want: []string{"shop/web/r2 progressing"},
		},
		"progress deadline is moot once available": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2,
				deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", "timed out"))}},
			want: []string{"shop/web/r2 available"},
		},
		"OOMKilled beats crash loop": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(2, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", crashLoop("web", "Error", 1)), pod("web", "r2", "web-b", crashLoop("web", "OOMKilled", 137))},
			},
			want: []string{"shop/web/r2 failed OOMKilled container web: CrashLoopBackOff, last terminated: OOMKilled (exit code 137)"},
		},
		"crash loop beats image pull, within a pod": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("proxy", "ImagePullBackOff", ""), crashLoop("web", "Error", 3))},
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 3)"},
		},
		"image pull beats container config": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(2, 0, 0))},
				Pods: []*corev1.Pod{
					pod("web", "r2", "web-a", waiting("web", "CreateContainerConfigError", "secret missing")),
					pod("web", "r2", "web-b", waiting("web", "ErrImagePull", "not found")),
				},
			},
			want: []string{`shop/web/r2 failed ImagePullFailed container web: ErrImagePull, image "ghcr.io/acme/web:r2": not found`},
		},
		"container config beats unschedulable": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(2, 0, 0))},
				Pods: []*corev1.Pod{
					pod("web", "r2", "web-a", unschedulable("0/3 nodes are available")),
					pod("web", "r2", "web-b", waiting("web", "CreateContainerConfigError", "secret missing")),
				},
			},
			want: []string{"shop/web/r2 failed ContainerConfigError container web: CreateContainerConfigError: secret missing"},
		},
		"unschedulable beats progress deadline": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(1, 1, 1),
					deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", "timed out"))},
				Pods: []*corev1.Pod{pod("web", "r2", "web-a"), pod("web", "r2", "web-b", unschedulable("0/3 nodes are available"))},
			},
			want: []string{"shop/web/r2 failed Unschedulable 0/3 nodes are available"},
		},
		"equal failures: the first pod by name": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(2, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-b", crashLoop("web", "Error", 2)), pod("web", "r2", "web-a", crashLoop("web", "Error", 1))},
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 1)"},
		},
		"the previous release's pods do not fail the new one": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(1, 1, 1))},
				Pods:        []*corev1.Pod{pod("web", "r1", "web-old", crashLoop("web", "OOMKilled", 137)), pod("web", "r2", "web-new")},
			},
			want: []string{"shop/web/r2 progressing"},
		},
		"pods no workload controls do not count": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1)},
				Pods: []*corev1.Pod{
					pod("web", "r2", "web-migrate", ownedBy("Job"), terminated("web", "OOMKilled", 137)),
					pod("web", "r2", "web-bare", ownedBy(""), crashLoop("web", "Error", 1)),
					pod("web", "r2", "web-a"),
				},
			},
			want: []string{"shop/web/r2 available"},
		},
		"pods being deleted do not count": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1)},
				Pods: []*corev1.Pod{pod("web", "r2", "web-a"), pod("web", "r2", "web-b", crashLoop("web", "Error", 1), func(p *corev1.Pod) {
					now := metav1.Now()
					p.DeletionTimestamp = &now
				})},
			},
			want: []string{"shop/web/r2 available"},
		},
		"evicted pods do not fail the release": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1)},
				Pods: []*corev1.Pod{pod("web", "r2", "web-a"), pod("web", "r2", "web-b", terminated("web", "OOMKilled", 137), func(p *corev1.Pod) {
					p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
				})},
			},
			want: []string{"shop/web/r2 available"},
		},
		"a waiting reason without a Reason of its own does not fail the release": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", waiting("web", "RunContainerError", "exec: not found"))},
			},
			want: []string{"shop/web/r2 progressing"},
		},
		"Flux refusing the revision fails every release": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("api", "r7", 1), deployment("web", "r2", 2, rolling(1, 1, 1))},
				Flux:        fluxRefused,
			},
			want: []string{
				`shop/api/r7 failed FluxApplyFailed ` + fluxRefused.Message,
				`shop/web/r2 failed FluxApplyFailed ` + fluxRefused.Message,
			},
		},
		"a release's own failure says more than Flux's": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", crashLoop("web", "Error", 1))},
				Flux:        fluxRefused,
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 1)"},
		},
		"Flux not ready without a message fails nothing": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 1)}, Flux: &agent.FluxState{Kustomization: "flux-system/auger-production"}},
			want:    []string{"shop/web/r2 available"},
		},
		"waiting for Flux": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))}, Flux: fluxReady, FluxApplied: notApplied},
			want:    []string{"shop/web/r2 waiting"},
		},
		"Flux applied": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))}, Flux: fluxReady, FluxApplied: map[string]bool{"shop/web/r2": true}},
			want:    []string{"shop/web/r2 progressing"},
		},
		"unknown to Flux: no waiting": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))}, Flux: fluxReady, FluxApplied: map[string]bool{"shop/api/r2": false}},
			want:    []string{"shop/web/r2 progressing"},
		},
		"no Flux: no waiting": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))}, FluxApplied: notApplied},
			want:    []string{"shop/web/r2 progressing"},
		},
		"available beats waiting": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 2)}, Flux: fluxReady, FluxApplied: notApplied},
			want:    []string{"shop/web/r2 available"},
		},
		"failure beats waiting": {
			objects: agent.Objects{
				Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, rolling(1, 0, 0))},
				Pods:        []*corev1.Pod{pod("web", "r2", "web-a", crashLoop("web", "Error", 1))},
				Flux:        fluxReady, FluxApplied: notApplied,
			},
			want: []string{"shop/web/r2 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 1)"},
		},
		"StatefulSet available": {
			objects: agent.Objects{StatefulSets: []*appsv1.StatefulSet{statefulSet("db", "r4", 3, 3)}},
			want:    []string{"shop/db/r4 available"},
		},
		"StatefulSet progressing": {
			objects: agent.Objects{StatefulSets: []*appsv1.StatefulSet{statefulSet("db", "r4", 3, 1)}},
			want:    []string{"shop/db/r4 progressing"},
		},
		"StatefulSet failing": {
			objects: agent.Objects{
				StatefulSets: []*appsv1.StatefulSet{statefulSet("db", "r4", 3, 1)},
				Pods:         []*corev1.Pod{pod("db", "r4", "db-2", ownedBy("StatefulSet"), crashLoop("web", "Error", 1))},
			},
			want: []string{"shop/db/r4 failed CrashLoop container web: CrashLoopBackOff, last terminated: Error (exit code 1)"},
		},
		"DaemonSet available": {
			objects: agent.Objects{DaemonSets: []*appsv1.DaemonSet{daemonSet("agent", "r1", 5, 5)}},
			want:    []string{"shop/agent/r1 available"},
		},
		"DaemonSet progressing": {
			objects: agent.Objects{DaemonSets: []*appsv1.DaemonSet{daemonSet("agent", "r1", 5, 4)}},
			want:    []string{"shop/agent/r1 progressing"},
		},
		"DaemonSet failing": {
			objects: agent.Objects{
				DaemonSets: []*appsv1.DaemonSet{daemonSet("agent", "r1", 5, 5)},
				Pods:       []*corev1.Pod{pod("agent", "r1", "agent-x", ownedBy("DaemonSet"), waiting("web", "ErrImagePull", "denied"))},
			},
			want: []string{`shop/agent/r1 failed ImagePullFailed container web: ErrImagePull, image "ghcr.io/acme/agent:r1": denied`},
		},
		"a release is available when all its workloads are": {
			objects: agent.Objects{
				Deployments:  []*appsv1.Deployment{deployment("web", "r2", 2)},
				StatefulSets: []*appsv1.StatefulSet{statefulSet("web", "r2", 1, 0)},
			},
			want: []string{"shop/web/r2 progressing"},
		},
		"workloads at different releases are different states": {
			objects: agent.Objects{
				Deployments:  []*appsv1.Deployment{deployment("web", "r2", 2, rolling(0, 0, 0))},
				StatefulSets: []*appsv1.StatefulSet{statefulSet("web", "r1", 1, 1)},
			},
			want: []string{"shop/web/r1 available", "shop/web/r2 progressing"},
		},
		"the pod template's release wins (a rollback)": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, func(d *appsv1.Deployment) {
				d.Spec.Template.Annotations = map[string]string{agent.AnnotationRelease: "r1"}
			})}},
			want: []string{"shop/web/r1 available"},
		},
		"the object's release when the template has none": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 1, func(d *appsv1.Deployment) { d.Spec.Template.Annotations = nil })}},
			want:    []string{"shop/web/r2 available"},
		},
		"invalid and foreign workloads are skipped": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{
				deployment("no-release", "r1", 1, func(d *appsv1.Deployment) { d.Annotations, d.Spec.Template.Annotations = nil, nil }),
				deployment("no-app", "r1", 1, func(d *appsv1.Deployment) { delete(d.Labels, agent.LabelApp) }),
				deployment("foreign", "r1", 1, func(d *appsv1.Deployment) { d.Labels = map[string]string{agent.LabelApp: "foreign"} }),
				deployment("web", "r2", 1),
			}},
			want: []string{"shop/web/r2 available"},
		},
		"sorted by namespace, app and release": {
			objects: agent.Objects{Deployments: []*appsv1.Deployment{
				deployment("web", "r2", 1),
				deployment("web", "r1", 1, func(d *appsv1.Deployment) { d.Name = "web-canary" }),
				deployment("api", "r9", 1, func(d *appsv1.Deployment) { d.Namespace = "zoo" }),
				deployment("api", "r3", 1),
			}},
			want: []string{"shop/api/r3 available", "shop/web/r1 available", "shop/web/r2 available", "zoo/api/r9 available"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := summary(agent.Evaluate(tc.objects))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Evaluate:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestEvaluateState checks a whole state: identity, counts, pods and Flux.
func TestEvaluateState(t *testing.T) {
	flux := &agent.FluxState{Kustomization: "flux-system/auger-production", Revision: "main@sha1:abc", Ready: true}
	objects := agent.Objects{
		Deployments: []*appsv1.Deployment{
			deployment("web", "r2", 3, rolling(2, 1, 1)),
			deployment("web", "r2", 1, func(d *appsv1.Deployment) {
				d.Name, d.Spec.Replicas = "web-worker", nil
				d.Spec.Template.Annotations = map[string]string{agent.AnnotationRelease: "r2"} // repository and SHA from the first workload
			}),
		},
		Pods: []*corev1.Pod{
			pod("web", "r2", "web-c"),
			pod("web", "r2", "web-a", crashLoop("web", "OOMKilled", 137)),
			pod("web", "r2", "web-b", waiting("web", "ContainerCreating", "")),
		},
		Flux: flux,
	}
	exit137 := int32(137)
	want := []agent.ReleaseState{{
		App: "web", Namespace: ns, Release: "r2", Repository: "acme/web", SHA: "sha-r2",
		Phase: agent.PhaseFailed, Reason: agent.ReasonOOMKilled,
		Message: "container web: CrashLoopBackOff, last terminated: OOMKilled (exit code 137)",
		Workloads: []agent.WorkloadState{
			{Kind: "Deployment", Name: "web", Desired: 3, Updated: 2, Ready: 1, Available: 1},
			{Kind: "Deployment", Name: "web-worker", Desired: 1, Updated: 1, Ready: 1, Available: 1},
		},
		Pods: []agent.PodState{
			{Name: "web-a", Phase: "Running", Restarts: 4, Container: "web", Reason: "CrashLoopBackOff", Message: "last terminated: OOMKilled (exit code 137)", ExitCode: &exit137},
			{Name: "web-b", Phase: "Running"},
			{Name: "web-c", Phase: "Running", Ready: true},
		},
		Flux: &agent.FluxState{Kustomization: "flux-system/auger-production", Revision: "main@sha1:abc", Ready: true},
	}}
	got := agent.Evaluate(objects)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Evaluate:\n got %s\nwant %s", jsonOf(t, got), jsonOf(t, want))
	}
	if got[0].Flux == flux {
		t.Error("the state shares the caller's FluxState")
	}
	if got[0].Pods[0].ExitCode == &objects.Pods[1].Status.ContainerStatuses[0].LastTerminationState.Terminated.ExitCode {
		t.Error("the state points into the caller's pod")
	}
}

// TestEvaluatePods checks the pod list: at most 10, the worst first, then by name.
func TestEvaluatePods(t *testing.T) {
	objects := agent.Objects{Deployments: []*appsv1.Deployment{deployment("web", "r2", 14, rolling(14, 9, 9))}}
	for i := range 9 {
		objects.Pods = append(objects.Pods, pod("web", "r2", fmt.Sprintf("web-%02d", i)))
	}
	objects.Pods = append(objects.Pods,
		pod("web", "r2", "web-20", unschedulable("0/3 nodes are available")),
		pod("web", "r2", "web-21", waiting("web", "RunContainerError", "exec failed")),
		pod("web", "r2", "web-22", crashLoop("web", "Error", 1)),
		pod("web", "r2", "web-23", crashLoop("web", "OOMKilled", 137)),
		pod("web", "r2", "web-24", notReady, waiting("sidecar", "ImagePullBackOff", ""), crashLoop("web", "Error", 2)),
		pod("web", "r1", "web-old", crashLoop("web", "Error", 1)),
	)
	for i, p := range objects.Pods {
		p.UID = types.UID(fmt.Sprint(100 - i)) // not in the order of names
	}
	got := agent.Evaluate(objects)[0].Pods
	var names, reasons []string
	for _, p := range got {
		names = append(names, p.Name)
		reasons = append(reasons, p.Container+" "+p.Reason)
	}
	wantNames := []string{"web-23", "web-22", "web-24", "web-20", "web-21", "web-00", "web-01", "web-02", "web-03", "web-04"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("pods %q, want %q", names, wantNames)
	}
	wantReasons := []string{"web CrashLoopBackOff", "web CrashLoopBackOff", "web CrashLoopBackOff", " Unschedulable", "web RunContainerError", " ", " ", " ", " ", " "}
	if !reflect.DeepEqual(reasons, wantReasons) {
		t.Errorf("reasons %q, want %q", reasons, wantReasons)
	}
	if web24 := got[2]; web24.Restarts != 4 || web24.ExitCode == nil || *web24.ExitCode != 2 {
		t.Errorf("web-24: %+v, want 4 restarts and exit code 2", web24)
	}
}

func TestInvalid(t *testing.T) {
	var nilDeployment *appsv1.Deployment
	tests := map[string]struct {
		obj  metav1.Object
		want string
	}{
		"valid":                        {obj: deployment("web", "r2", 1)},
		"release on the template only": {obj: deployment("web", "r2", 1, func(d *appsv1.Deployment) { d.Annotations = nil })},
		"release on the object only":   {obj: deployment("web", "r2", 1, func(d *appsv1.Deployment) { d.Spec.Template.Annotations = nil })},
		"no release": {
			obj:  deployment("web", "r2", 1, func(d *appsv1.Deployment) { d.Annotations, d.Spec.Template.Annotations = nil, nil }),
			want: "missing annotation auger.dev/release",
		},
		"empty release": {
			obj: deployment("web", "r2", 1, func(d *appsv1.Deployment) {
				d.Annotations, d.Spec.Template.Annotations = nil, map[string]string{agent.AnnotationRelease: ""}
			}),
			want: "missing annotation auger.dev/release",
		},
		"no app":  {obj: deployment("web", "r2", 1, func(d *appsv1.Deployment) { delete(d.Labels, agent.LabelApp) }), want: "missing label auger.dev/app"},
		"nothing": {obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{agent.LabelManagedBy: agent.ManagedByAuger}}}, want: "missing label auger.dev/app and annotation auger.dev/release"},
		"statefulset": {
			obj: func() *appsv1.StatefulSet {
				s := statefulSet("db", "r1", 1, 1)
				s.Annotations, s.Spec.Template.Annotations = nil, nil
				return s
			}(),
			want: "missing annotation auger.dev/release",
		},
		"pod":                   {obj: pod("web", "r2", "web-a")},
		"not Auger's":           {obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"}}},
		"another manager's":     {obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{agent.LabelManagedBy: "Helm"}}}},
		"nil":                   {obj: nil, want: "no object"},
		"nil Deployment":        {obj: nilDeployment, want: "no object"},
		"config map with marks": {obj: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{agent.LabelManagedBy: agent.ManagedByAuger, agent.LabelApp: "web"}}}, want: "missing annotation auger.dev/release"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := agent.Invalid(tc.obj); got != tc.want {
				t.Errorf("Invalid = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	s := agent.ReleaseState{Namespace: "shop", App: "web", Release: "acme/web-1234"}
	if got := agent.Key(s); got != "shop/web/acme/web-1234" {
		t.Errorf("Key = %q", got)
	}
}

// TestEvaluateNilFields feeds objects with nothing set where Kubernetes allows it.
func TestEvaluateNilFields(t *testing.T) {
	labels, annotations := marks("web", "r2")
	bare := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels, Annotations: annotations, Generation: 1}}
	objects := agent.Objects{
		Deployments:  []*appsv1.Deployment{nil, bare},
		StatefulSets: []*appsv1.StatefulSet{nil, {ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}}},
		DaemonSets:   []*appsv1.DaemonSet{nil, {}},
		ReplicaSets:  []*appsv1.ReplicaSet{nil, {}, {ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}}},
		Pods: []*corev1.Pod{
			nil, {}, {ObjectMeta: metav1.ObjectMeta{Labels: labels}},
			{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations, OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Controller: ptr(true)}}},
				Status: corev1.PodStatus{
					ContainerStatuses:     []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}},
					InitContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}},
				}},
		},
		Events:      []*corev1.Event{nil, {}, {InvolvedObject: corev1.ObjectReference{Kind: "Pod"}, Reason: "Failed", Message: `Failed to pull image "": x`}},
		Flux:        &agent.FluxState{},
		FluxApplied: map[string]bool{},
	}
	got := summary(agent.Evaluate(objects))
	want := []string{`/web/r2 failed ImagePullFailed container : ImagePullBackOff, image "": Failed to pull image "": x`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Evaluate:\n got %q\nwant %q", got, want)
	}
	if w := agent.Evaluate(agent.Objects{Deployments: []*appsv1.Deployment{bare}})[0].Workloads; w[0].Desired != 1 {
		t.Errorf("desired = %d, want spec.replicas' default, 1", w[0].Desired)
	}
}

// TestEvaluateDeterministic shuffles the input: the output must not change.
func TestEvaluateDeterministic(t *testing.T) {
	objects := fleet(20, 12)
	objects.Flux = &agent.FluxState{Kustomization: "flux-system/auger-production", Ready: true}
	objects.FluxApplied = map[string]bool{"ns-1/app-3/app-3-r1": false}
	want := agent.Evaluate(objects)
	if len(want) != 20 {
		t.Fatalf("%d states, want 20", len(want))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		rng.Shuffle(len(objects.Deployments), func(i, j int) {
			objects.Deployments[i], objects.Deployments[j] = objects.Deployments[j], objects.Deployments[i]
		})
		rng.Shuffle(len(objects.ReplicaSets), func(i, j int) {
			objects.ReplicaSets[i], objects.ReplicaSets[j] = objects.ReplicaSets[j], objects.ReplicaSets[i]
		})
		rng.Shuffle(len(objects.Pods), func(i, j int) { objects.Pods[i], objects.Pods[j] = objects.Pods[j], objects.Pods[i] })
		rng.Shuffle(len(objects.Events), func(i, j int) { objects.Events[i], objects.Events[j] = objects.Events[j], objects.Events[i] })
		if got := agent.Evaluate(objects); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d changed the output:\n got %s\nwant %s", i, jsonOf(t, got), jsonOf(t, want))
		}
	}
}

// fleet is an environment of releases in 5 namespaces, each one Deployment with pods of
// the release (every 7th crash-looping, every 11th unschedulable with an event, every
// 13th pulling an image in vain with events) and a few pods of the previous release.
func fleet(releases, podsPerRelease int) agent.Objects {
	var o agent.Objects
	for r := range releases {
		app, release := fmt.Sprintf("app-%d", r), fmt.Sprintf("app-%d-r%d", r, r%3)
		d := deployment(app, release, int32(podsPerRelease), rolling(int32(podsPerRelease), int32(podsPerRelease-1), int32(podsPerRelease-1)))
		d.Namespace = fmt.Sprintf("ns-%d", r%5)
		o.Deployments = append(o.Deployments, d)
		rs := replicaSet(app, release)
		rs.Namespace = d.Namespace
		o.ReplicaSets = append(o.ReplicaSets, rs)
		for i := range podsPerRelease + 2 {
			name, rel := fmt.Sprintf("%s-%04d", app, i), release
			if i >= podsPerRelease {
				rel = "previous"
			}
			addEvent := func(reason, message string, min int) {
				e := event(name, reason, message, min)
				e.Namespace, e.InvolvedObject.Namespace = d.Namespace, d.Namespace
				o.Events = append(o.Events, e)
			}
			var mods []func(*corev1.Pod)
			switch n := r*podsPerRelease + i; {
			case n%7 == 0:
				mods = append(mods, crashLoop("web", "Error", int32(n%4)))
			case n%11 == 0:
				mods = append(mods, unschedulable(""))
				addEvent("FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", n%60)
				addEvent("FailedScheduling", "0/3 nodes are available", (n+1)%60)
			case n%13 == 0:
				mods = append(mods, waiting("web", "ImagePullBackOff", "Back-off pulling image"))
				addEvent("Failed", `Failed to pull image "ghcr.io/acme/`+app+":"+rel+`": not found`, n%60)
			}
			p := pod(app, rel, name, mods...)
			p.Namespace = d.Namespace
			o.Pods = append(o.Pods, p)
		}
	}
	return o
}

// BenchmarkEvaluate evaluates 10,000 pods of 500 releases (and 1,000 of their previous
// releases).
func BenchmarkEvaluate(b *testing.B) {
	objects := fleet(500, 20)
	b.ReportAllocs()
	for b.Loop() {
		agent.Evaluate(objects)
	}
}

func ptr[T any](v T) *T { return &v }

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
