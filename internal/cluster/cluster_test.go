package cluster_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/auger-dev/auger/internal/cluster"
)

// TestCluster exercises what the agent's end-to-end tests rely on: workloads created by hand
// (no controller runs), statuses written through the status subresource, label selectors, and
// RBAC applying to the agent's token. It also reports how long a start and a stop take.
func TestCluster(t *testing.T) {
	var startTook time.Duration
	began := time.Now()
	// The subtest's end runs the cluster's cleanup, so the time around it includes the stop.
	t.Run("api", func(t *testing.T) {
		c := cluster.Start(t)
		startTook = time.Since(began)
		exerciseAPI(t, c)
	})
	if t.Failed() {
		return
	}
	total := time.Since(began)
	t.Logf("cluster.Start took %v with warm binaries; the whole subtest, stop included, %v",
		startTook.Round(time.Millisecond), total.Round(time.Millisecond))
}

func exerciseAPI(t *testing.T, c *cluster.Cluster) {
	ctx := t.Context()
	admin := c.Client(t)

	// Clients parse the server's version; an unstamped build reports v0.0.0-master.
	version, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if version.GitVersion != "v1.37.0" || version.Major != "1" || version.Minor != "37" {
		t.Errorf("server version = %q (major %q, minor %q), want v1.37.0", version.GitVersion, version.Major, version.Minor)
	}

	const ns = "shop"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	labels := map[string]string{"app": "web", "auger.dev/env": "staging"}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1.0.0"}}}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec}
	replicas := int32(2)
	deploy, err := admin.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	rs, err := admin.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            "web-6d4cf56db6",
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", deploy.Name, deploy.UID)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create replicaset: %v", err)
	}
	pod, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            "web-6d4cf56db6-x7k2p",
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{ownerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID)},
		},
		Spec: podSpec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	// A pod that the selector below must leave out.
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db-0", Labels: map[string]string{"app": "db"}},
		Spec:       podSpec,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create second pod: %v", err)
	}

	// No kubelet runs: the test plays its part by writing the status.
	pod.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", Image: "registry.example/web:1.0.0", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		}},
	}
	if _, err := admin.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update pod status: %v", err)
	}

	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,auger.dev/env=staging"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Name != pod.Name {
		t.Fatalf("pods selected = %v, want only %s", podNames(pods.Items), pod.Name)
	}
	if got := pods.Items[0].Status; got.Phase != corev1.PodRunning || len(got.ContainerStatuses) != 1 || !got.ContainerStatuses[0].Ready {
		t.Errorf("pod status = phase %q, containers %+v; want the Running, ready status written", got.Phase, got.ContainerStatuses)
	}

	checkAgentRBAC(ctx, t, c, admin, ns)
}

// checkAgentRBAC checks that the agent's token gets exactly what a ClusterRole grants it.
func checkAgentRBAC(ctx context.Context, t *testing.T, c *cluster.Cluster, admin kubernetes.Interface, ns string) {
	agent, err := kubernetes.NewForConfig(c.AgentConfig())
	if err != nil {
		t.Fatalf("agent client: %v", err)
	}
	if _, err := agent.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("agent listing pods before any grant: err = %v, want Forbidden", err)
	}

	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "auger-agent"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create clusterrole: %v", err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "auger-agent"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "auger-agent"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: cluster.AgentUser}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create clusterrolebinding: %v", err)
	}

	// The RBAC authorizer reads roles from an informer cache, so a grant takes effect a moment
	// after it is written.
	granted := time.Now()
	var lastErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var pods *corev1.PodList
		if pods, lastErr = agent.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"}); lastErr == nil {
			if len(pods.Items) != 1 {
				t.Errorf("agent sees pods %v, want one", podNames(pods.Items))
			}
			break
		}
		if !apierrors.IsForbidden(lastErr) {
			t.Fatalf("agent listing pods after the grant: %v", lastErr)
		}
	}
	if lastErr != nil {
		t.Fatalf("agent still cannot list pods 10 s after the grant: %v", lastErr)
	}
	t.Logf("the grant took effect after %v", time.Since(granted).Round(time.Millisecond))

	// The role grants reading pods, nothing else.
	if err := agent.CoreV1().Pods(ns).Delete(ctx, "db-0", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent deleting a pod: err = %v, want Forbidden", err)
	}
	if _, err := agent.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent listing deployments: err = %v, want Forbidden", err)
	}
}

// TestStartFailsWithoutBinaries checks that a missing cluster fails the test, with the way to
// fix it, instead of skipping it: a skipped end-to-end test must not pass for a green run.
func TestStartFailsWithoutBinaries(t *testing.T) {
	for _, tc := range []struct{ name, env, want string }{
		{"unset", "", "is not set: run `export AUGER_K8S_BINARIES=$(scripts/k8s-binaries.sh)`"},
		{"empty folder", t.TempDir(), "is not an executable file (from $AUGER_K8S_BINARIES): run scripts/k8s-binaries.sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(cluster.EnvBinaries, tc.env)
			rec := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				cluster.Start(rec)
				t.Error("Start returned without binaries")
			}()
			<-done
			if !strings.Contains(rec.fatal, tc.want) {
				t.Errorf("Start failed with %q, want it to contain %q", rec.fatal, tc.want)
			}
		})
	}
}

// fatalRecorder records the message of Fatalf and stops the goroutine like the real one,
// without failing the enclosing test.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Skip(...any)          { panic("Start must fail, not skip") }
func (r *fatalRecorder) Skipf(string, ...any) { panic("Start must fail, not skip") }
func (r *fatalRecorder) SkipNow()             { panic("Start must fail, not skip") }

// ownerRef links objects the way the controllers that do not run here would.
func ownerRef(apiVersion, kind, name string, uid types.UID) metav1.OwnerReference {
	controller := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: &controller}
}

func podNames(pods []corev1.Pod) []string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}
