package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/auger-dev/auger/internal/cluster"
)

// With nodes, Deployments roll out by themselves: the controller manager makes ReplicaSets
// and pods, the scheduler puts them on kwok's nodes, kwok reports them running and ready (or
// held in a crash loop), and deleting a Deployment takes its pods away. Flux's APIs are served.
func TestControllersKwokAndFlux(t *testing.T) {
	began := time.Now()
	c := cluster.StartWith(t, cluster.Options{Nodes: 2, Flux: true})
	t.Logf("cluster with controllers, 2 kwok nodes and Flux ready in %v", time.Since(began).Round(time.Millisecond))
	ctx := t.Context()
	admin := c.Client(t)
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	deps := admin.AppsV1().Deployments("shop")
	if _, err := deps.Create(ctx, deployment("web", "nginx:1.27", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Create(ctx, deployment("broken", "nginx:"+cluster.CrashLoopTag, 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web has 3 available replicas", func() (bool, string) {
		d, err := deps.Get(ctx, "web", metav1.GetOptions{})
		var ps []string
		for _, p := range pods(t, ctx, admin, "web") {
			ps = append(ps, fmt.Sprintf("%s on %q: %s %+v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions))
		}
		return err == nil && d.Status.AvailableReplicas == 3, fmt.Sprintf("%+v %v; pods: %s", d.Status, err, strings.Join(ps, "; "))
	})
	for _, p := range pods(t, ctx, admin, "web") {
		if !strings.HasPrefix(p.Spec.NodeName, "kwok-node-") || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q, phase %s, IP %q", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP)
		}
	}
	eventually(t, "broken's pod is held in CrashLoopBackOff", func() (bool, string) {
		ps := pods(t, ctx, admin, "broken")
		if len(ps) != 1 || len(ps[0].Status.ContainerStatuses) != 1 {
			return false, fmt.Sprintf("%d pods", len(ps))
		}
		cs := ps[0].Status.ContainerStatuses[0]
		return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && !cs.Ready && cs.RestartCount > 0 &&
			cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 1, fmt.Sprintf("%+v", cs)
	})
	if d, _ := deps.Get(ctx, "broken", metav1.GetOptions{}); d.Status.AvailableReplicas != 0 {
		t.Errorf("a crash-looping Deployment has %d available replicas", d.Status.AvailableReplicas)
	}

	// Deleting the Deployment cascades to its ReplicaSet and pods (garbage collector, then kwok).
	if err := deps.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web's pods are gone", func() (bool, string) {
		ps := pods(t, ctx, admin, "web")
		return len(ps) == 0, fmt.Sprintf("%d pods", len(ps))
	})

	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, gvr := range []schema.GroupVersionResource{
		{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"},
		{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"},
	} {
		if _, err := dyn.Resource(gvr).Namespace(cluster.FluxNamespace).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list %s: %v", gvr.Resource, err)
		}
	}
}

func deployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}}},
			},
		},
	}
}

func pods(t *testing.T, ctx context.Context, admin kubernetes.Interface, app string) []corev1.Pod {
	t.Helper()
	list, err := admin.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// eventually polls ok for up to 30 seconds; its string describes the state when it fails.
func eventually(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	var state string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var done bool
		if done, state = ok(); done {
			return
		}
	}
	t.Fatalf("%s: not within 30 s; last state: %s", what, state)
}
