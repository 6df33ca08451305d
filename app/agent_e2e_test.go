package app_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/cluster"
	"github.com/auger-dev/auger/internal/githubfake"
)

// The agent, with only the rights deploy/agent/rbac.yaml grants, watches a real
// kube-apiserver; the server turns its reports into the deploy check run, annotations,
// the Deployment status and the reply, in the GitHub fake. There are no controllers: the
// test writes the ReplicaSet, the pods and every status itself.
func TestAgentEndToEndOnARealCluster(t *testing.T) {
	c := cluster.Start(t)
	admin := c.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grantAgentRole(t, ctx, admin)
	kustomizations := installFluxCRD(t, ctx, c)

	w := newReleaseWorld(t, agentEnvironments, "STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=p")
	w.repo.SetPermission("jane", "write")
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "staging"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Options{Server: strings.TrimSuffix(w.hook, "/api/github/hook"), Env: "staging", Token: "staging-agent-token",
		Config: c.AgentConfig(), Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel), Tick: 50 * time.Millisecond, MinInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go a.Run(ctx) //nolint:errcheck // ends with ctx

	for _, tc := range []struct {
		name   string
		pod    func(*corev1.Pod)
		ready  bool
		want   string // the deploy check run's conclusion
		reason agent.Reason
		line   int
	}{
		{"healthy", func(p *corev1.Pod) {}, true, "success", "", 0},
		{"image pull failure", waitingPod("ImagePullBackOff", `Back-off pulling image "ghcr.io/mycompany/frontend:nope"`), false, "failure", agent.ReasonImagePull, 6},
		{"crash loop", crashingPod, false, "failure", agent.ReasonCrashLoop, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sha, pr := w.pullRequest(t, "change-"+strings.ReplaceAll(tc.name, " ", "-"), "frontend")
			w.comment(t, pr, "jane", "/deploy staging", "")
			w.reply(t, pr, 1)
			apply(t, ctx, admin, w.gitops(t, "show", "main:staging/frontend/deployment-frontend.yaml"), tc.pod, tc.ready)

			check := waitForCheck(t, w, sha, func(cr githubfake.CheckRun) bool { return cr.Status == "completed" })
			if check.Conclusion != tc.want {
				t.Fatalf("deploy check run: %s, want %s\n%s", check.Conclusion, tc.want, check.Output.Summary)
			}
			if tc.reason != "" {
				if !strings.Contains(check.Output.Title, string(tc.reason)) || len(check.Output.Annotations) != 1 || check.Output.Annotations[0].StartLine != tc.line {
					t.Errorf("failure: %q %+v", check.Output.Title, check.Output.Annotations)
				}
			}
			state := "success"
			if tc.want == "failure" {
				state = "failure"
			}
			waitFor(t, func() bool {
				for _, d := range w.repo.Deployments() {
					if d.Ref == sha && len(d.Statuses) > 0 && d.Statuses[len(d.Statuses)-1].State == state {
						return true
					}
				}
				return false
			})
		})
	}

	// Flux refuses a manifest: the release fails with Flux's message.
	t.Run("flux apply failure", func(t *testing.T) {
		sha, pr := w.pullRequest(t, "change-flux", "frontend")
		w.comment(t, pr, "jane", "/deploy staging", "")
		w.reply(t, pr, 1)
		apply(t, ctx, admin, w.gitops(t, "show", "main:staging/frontend/deployment-frontend.yaml"), func(*corev1.Pod) {}, false)
		k := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": "auger-staging", "namespace": "flux-system"},
			"spec":     map[string]any{"path": "./staging", "interval": "1m"},
			"status": map[string]any{"lastAppliedRevision": "main@sha1:0123", "conditions": []any{map[string]any{
				"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "kustomize build failed: accumulating resources: missing field",
				"lastTransitionTime": "2026-11-21T00:00:00Z"}}},
		}}
		if _, err := kustomizations.Namespace("flux-system").Create(ctx, k, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		check := waitForCheck(t, w, sha, func(cr githubfake.CheckRun) bool { return cr.Status == "completed" })
		if check.Conclusion != "failure" || !strings.Contains(check.Output.Title, string(agent.ReasonFluxApply)) ||
			!strings.Contains(check.Output.Summary, "kustomize build failed") {
			t.Errorf("flux failure: %s %q\n%s", check.Conclusion, check.Output.Title, check.Output.Summary)
		}
	})
}

// installFluxCRD installs Flux's Kustomization API (its CRD, without Flux) and the
// flux-system namespace, so the agent finds Flux when it starts.
func installFluxCRD(t *testing.T, ctx context.Context, c *cluster.Cluster) dynamic.NamespaceableResourceInterface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "kustomizations.kustomize.toolkit.fluxcd.io"},
		"spec": map[string]any{
			"group": "kustomize.toolkit.fluxcd.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "Kustomization", "plural": "kustomizations", "singular": "kustomization", "listKind": "KustomizationList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(t).CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kustomizations := dyn.Resource(schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"})
	waitFor(t, func() bool {
		_, err := kustomizations.Namespace("flux-system").List(ctx, metav1.ListOptions{})
		return err == nil
	})
	return kustomizations
}

// grantAgentRole binds deploy/agent/rbac.yaml's ClusterRole to the cluster's agent user.
func grantAgentRole(t testing.TB, ctx context.Context, admin kubernetes.Interface) {
	t.Helper()
	data, err := os.ReadFile("../deploy/agent/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(bytes.SplitN(data, []byte("\n---\n"), 2)[0], &role); err != nil || role.Kind != "ClusterRole" {
		t.Fatalf("deploy/agent/rbac.yaml: %v (%s)", err, role.Kind)
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "auger-agent-test"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: cluster.AgentUser, APIGroup: "rbac.authorization.k8s.io"}}}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// apply creates (or replaces) the released Deployment, a ReplicaSet and two pods of it,
// and writes their statuses as the controllers and the kubelet would.
func apply(t *testing.T, ctx context.Context, admin kubernetes.Interface, manifest string, podState func(*corev1.Pod), ready bool) {
	t.Helper()
	var d appsv1.Deployment
	if err := yaml.Unmarshal([]byte(manifest), &d); err != nil {
		t.Fatalf("rendered deployment: %v", err)
	}
	deps := admin.AppsV1().Deployments("staging")
	_ = deps.Delete(ctx, d.Name, metav1.DeleteOptions{})
	_ = admin.CoreV1().Pods("staging").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{LabelSelector: agent.LabelApp + "=" + d.Labels[agent.LabelApp]})
	created, err := deps.Create(ctx, &d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + created.ResourceVersion, Namespace: "staging", Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(created, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
	rs, err = admin.AppsV1().ReplicaSets("staging").Create(ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := *d.Spec.Replicas
	for i := int32(0); i < n; i++ {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: rs.Name + "-" + string(rune('a'+i)), Namespace: "staging", Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
			Spec: d.Spec.Template.Spec,
		}
		p, err = admin.CoreV1().Pods("staging").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionStatus(map[bool]string{true: "True", false: "False"}[ready])}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image, Ready: ready,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
		podState(p)
		if _, err := admin.CoreV1().Pods("staging").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	available := int32(0)
	if ready {
		available = n
	}
	created.Status = appsv1.DeploymentStatus{ObservedGeneration: created.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: available, AvailableReplicas: available}
	if _, err := deps.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitingPod(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	}
}

func crashingPod(p *corev1.Pod) {
	cs := &p.Status.ContainerStatuses[0]
	cs.RestartCount = 5
	cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 2m40s"}}
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 3}}
}

func waitForCheck(t *testing.T, w *releaseWorld, sha string, ok func(githubfake.CheckRun) bool) githubfake.CheckRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, cr := range w.augerRuns(sha) {
			if cr.Name == commands.CheckDeployPrefix+"staging" && ok(cr) {
				return cr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the deploy check run on %s did not complete; logs:\n%s", sha, w.logs.String())
	return githubfake.CheckRun{}
}
