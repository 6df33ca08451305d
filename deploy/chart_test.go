package deploy_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/internal/cluster"
)

const chartDir = "chart/auger"

// renderChart renders the chart as `helm install <release> deploy/chart/auger -n <ns>`
// would (values checked against values.schema.json), and returns its objects in install order.
func renderChart(release, namespace string, values map[string]any) ([]*unstructured.Unstructured, string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, "", err
	}
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, "", err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, "", err
	}
	var notes string
	for name, content := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			notes = content
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, "", err
	}
	if len(hooks) > 0 {
		return nil, "", fmt.Errorf("the chart has %d hooks; it should have none", len(hooks))
	}
	var objs []*unstructured.Unstructured
	for _, m := range manifests {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(m.Content), &obj); err != nil {
			return nil, "", fmt.Errorf("%s: %w", m.Name, err)
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetNamespace() == "" && namespaced(u.GetKind()) {
			u.SetNamespace(namespace)
		}
		objs = append(objs, u)
	}
	return objs, notes, nil
}

func namespaced(kind string) bool {
	return kind != "Namespace" && kind != "ClusterRole" && kind != "ClusterRoleBinding"
}

func byKind(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.GetKind()+"/"+o.GetName()] = o
	}
	return m
}

func as[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	if u == nil {
		t.Fatalf("no such object")
	}
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		t.Fatalf("%s/%s: %v", u.GetKind(), u.GetName(), err)
	}
	return &v
}

func TestChartDefaults(t *testing.T) {
	objs, notes, err := renderChart("auger", "auger", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byKind(objs)
	var names []string
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	want := []string{"ConfigMap/auger-server", "Deployment/auger-server", "PodDisruptionBudget/auger-server", "Service/auger-server", "ServiceAccount/auger-server"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("the default install has %v, want %v (no agent, no ingress)", names, want)
	}
	d := as[appsv1.Deployment](t, got["Deployment/auger-server"])
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if *d.Spec.Replicas != 2 || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		*pod.AutomountServiceAccountToken || !*pod.SecurityContext.RunAsNonRoot || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		c.Image != "ghcr.io/auger-dev/auger:latest" {
		t.Errorf("server deployment: %+v", d.Spec)
	}
	pdb := got["PodDisruptionBudget/auger-server"]
	if sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels"); !reflect.DeepEqual(sel, d.Spec.Selector.MatchLabels) {
		t.Errorf("the PodDisruptionBudget selects %v, the Deployment %v", sel, d.Spec.Selector.MatchLabels)
	}
	// Secrets are referenced by name, never rendered.
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("the chart renders a Secret %s", o.GetName())
		}
	}
	if !strings.Contains(notes, "create secret generic auger-server") {
		t.Errorf("NOTES do not say which Secret to create:\n%s", notes)
	}
	checkServerConfig(t, objs)
}

// checkServerConfig loads the rendered ConfigMap's config as `auger serve` would in the
// pod: the files it names are read from the mounts of the Deployment.
func checkServerConfig(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var cm *corev1.ConfigMap
	var d *appsv1.Deployment
	for _, o := range objs {
		switch o.GetKind() {
		case "ConfigMap":
			cm = as[corev1.ConfigMap](t, o)
		case "Deployment":
			if strings.HasSuffix(o.GetName(), "-server") {
				d = as[appsv1.Deployment](t, o)
			}
		}
	}
	pod := t.TempDir()
	var mounts []string
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts = append(mounts, m.MountPath+"/", filepath.Join(pod, m.MountPath)+"/")
	}
	config := strings.NewReplacer(mounts...).Replace(cm.Data["auger.yaml"])
	// The agent tokens Secret's keys, as the kubelet mounts them.
	tokens := filepath.Join(pod, "/etc/auger/agent-tokens")
	if err := os.MkdirAll(tokens, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"staging", "production"} {
		if err := os.WriteFile(filepath.Join(tokens, env), []byte("agent-token-"+env), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(pod, "auger.yaml")
	key := filepath.Join(pod, "key.pem")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, rsaKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path, []string{"AUGER_GITHUB_APP_ID=42", "AUGER_GITHUB_PRIVATE_KEY_FILE=" + key, "AUGER_GITHUB_WEBHOOK_SECRET=s3cret", "AUGER_STATE_DIR=" + t.TempDir()})
	if err != nil {
		t.Fatalf("the chart's config does not load:\n%s\n%v", cm.Data["auger.yaml"], err)
	}
	if len(cfg.Environments) == 0 || cfg.Environments[0].ResolvedAgentToken() == "" {
		t.Errorf("config environments: %+v", cfg.Environments)
	}
}

func rsaKey(t *testing.T) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// fullValues turn on everything: ingress with TLS, the agent, a config given as text
// (as --set-file server.config=auger.yaml gives it).
func fullValues(env string) map[string]any {
	return map[string]any{
		"image": map[string]any{"tag": "v1.2.0"},
		"server": map[string]any{
			"replicas": 3,
			"config": "server: {listen: \":8080\"}\nenvironments:\n  - name: " + env + "\n    gitops: {repository: mycompany/gitops}\n" +
				"    agentToken: {file: /etc/auger/agent-tokens/" + env + "}\n",
			"ingress": map[string]any{"enabled": true, "className": "nginx", "host": "auger.example.com", "tlsSecretName": "auger-tls"},
		},
		"agent": map[string]any{"enabled": true, "env": env},
	}
}

func TestChartEverything(t *testing.T) {
	objs, _, err := renderChart("auger", "tools", fullValues("production"))
	if err != nil {
		t.Fatal(err)
	}
	got := byKind(objs)
	for _, want := range []string{"Ingress/auger-server", "Deployment/auger-agent", "ServiceAccount/auger-agent", "ClusterRole/auger-agent", "ClusterRoleBinding/auger-agent"} {
		if got[want] == nil {
			t.Errorf("lacks %s", want)
		}
	}
	agent := as[appsv1.Deployment](t, got["Deployment/auger-agent"])
	env := map[string]string{}
	for _, e := range agent.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["AUGER_AGENT_ENV"] != "production" || env["AUGER_AGENT_SERVER"] != "http://auger-server.tools.svc:80" || agent.Spec.Template.Spec.Containers[0].Image != "ghcr.io/auger-dev/auger:v1.2.0" {
		t.Errorf("agent env %v", env)
	}
	// The chart's agent has exactly the rights of deploy/agent/.
	kust, err := os.ReadFile("agent/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kustRole rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(strings.Split(string(kust), "---")[0]), &kustRole); err != nil {
		t.Fatal(err)
	}
	if role := as[rbacv1.ClusterRole](t, got["ClusterRole/auger-agent"]); !reflect.DeepEqual(role.Rules, kustRole.Rules) {
		t.Errorf("the chart's agent rules %+v differ from deploy/agent's %+v", role.Rules, kustRole.Rules)
	}
	if b := as[rbacv1.ClusterRoleBinding](t, got["ClusterRoleBinding/auger-agent"]); b.Subjects[0].Namespace != "tools" {
		t.Errorf("binding subjects %+v", b.Subjects)
	}
	// Its one write right, on its own environment's Flux objects only, as deploy/agent/'s.
	var kustReconcile rbacv1.Role
	if err := yaml.Unmarshal([]byte(strings.Split(string(kust), "---")[2]), &kustReconcile); err != nil {
		t.Fatal(err)
	}
	reconcile := as[rbacv1.Role](t, got["Role/auger-agent-reconcile"])
	for i := range kustReconcile.Rules {
		kustReconcile.Rules[i].ResourceNames = []string{"auger-production"}
	}
	if reconcile.Namespace != "flux-system" || !reflect.DeepEqual(reconcile.Rules, kustReconcile.Rules) {
		t.Errorf("the chart's reconcile Role in %q has %+v, want deploy/agent's for auger-production in flux-system", reconcile.Namespace, reconcile.Rules)
	}
	if b := as[rbacv1.RoleBinding](t, got["RoleBinding/auger-agent-reconcile"]); b.Subjects[0].Namespace != "tools" || b.Subjects[0].Name != "auger-agent" {
		t.Errorf("reconcile binding subjects %+v", b.Subjects)
	}
	if args := agent.Spec.Template.Spec.Containers[0].Args; !reflect.DeepEqual(args, []string{"agent"}) {
		t.Errorf("agent args %v", args)
	}
	// Without the write, no Role and an agent told not to try.
	values := fullValues("production")
	values["agent"].(map[string]any)["fluxReconcile"] = false
	objs, _, err = renderChart("auger", "tools", values)
	if err != nil {
		t.Fatal(err)
	}
	got = byKind(objs)
	if got["Role/auger-agent-reconcile"] != nil || got["RoleBinding/auger-agent-reconcile"] != nil {
		t.Error("fluxReconcile: false still grants the reconcile Role")
	}
	if args := as[appsv1.Deployment](t, got["Deployment/auger-agent"]).Spec.Template.Spec.Containers[0].Args; !reflect.DeepEqual(args, []string{"agent", "--flux-reconcile=false"}) {
		t.Errorf("agent args with fluxReconcile false: %v", args)
	}
	checkServerConfig(t, objs)
}

// Bad values are refused before anything reaches the cluster, naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	tests := map[string]struct {
		values map[string]any
		want   string
	}{
		"replicas as text":       {map[string]any{"server": map[string]any{"replicas": "two"}}, "replicas"},
		"no replicas":            {map[string]any{"server": map[string]any{"replicas": 0}}, "replicas"},
		"misspelt key":           {map[string]any{"server": map[string]any{"replica": 2}}, "replica"},
		"agent without env":      {map[string]any{"agent": map[string]any{"enabled": true}}, "env"},
		"env not a DNS label":    {map[string]any{"agent": map[string]any{"enabled": true, "env": "Prod_1"}}, "env"},
		"agent without a server": {map[string]any{"server": map[string]any{"enabled": false}, "agent": map[string]any{"enabled": true, "env": "staging"}}, "agent.server: set the Auger server's URL"},
		"bad pull policy":        {map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, "pullPolicy"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := renderChart("auger", "auger", tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// applier applies objects to a real kube-apiserver with server-side apply, strict field
// validation and, unless real, dry-run: the apiserver's own schema and admission judge them.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t *testing.T, c *cluster.Cluster) *applier {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

func (a *applier) apply(ctx context.Context, manager string, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: manager, FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var res dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == "namespace" {
		res = a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	if _, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func (a *applier) createNamespace(t *testing.T, ctx context.Context, name string) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	if err := a.apply(ctx, "test", ns, false); err != nil {
		t.Fatal(err)
	}
}

// TestOnAPIServer applies the chart (defaults, everything on, and one agent release per
// environment) and the kustomize manifests of deploy/ to a real kube-apiserver.
func TestOnAPIServer(t *testing.T) {
	c := cluster.Start(t)
	ctx := context.Background()
	a := newApplier(t, c)

	dryRun := func(t *testing.T, manager string, objs []*unstructured.Unstructured) {
		t.Helper()
		for _, o := range objs {
			if err := a.apply(ctx, manager, o, true); err != nil {
				t.Errorf("server-side dry-run: %v", err)
			}
		}
	}

	t.Run("chart defaults", func(t *testing.T) {
		a.createNamespace(t, ctx, "auger")
		objs, _, err := renderChart("auger", "auger", nil)
		if err != nil {
			t.Fatal(err)
		}
		dryRun(t, "helm", objs)
	})
	t.Run("chart everything", func(t *testing.T) {
		a.createNamespace(t, ctx, "tools")
		a.createNamespace(t, ctx, "flux-system")
		objs, _, err := renderChart("auger", "tools", fullValues("staging"))
		if err != nil {
			t.Fatal(err)
		}
		dryRun(t, "helm", objs)
	})
	t.Run("agent per cluster and env", func(t *testing.T) {
		a.createNamespace(t, ctx, "auger-agents")
		a.createNamespace(t, ctx, "flux-system")
		cs := c.Client(t)
		for _, env := range []string{"staging", "production"} {
			release := "auger-agent-" + env
			objs, _, err := renderChart(release, "auger-agents", map[string]any{
				"server": map[string]any{"enabled": false},
				"agent":  map[string]any{"enabled": true, "env": env, "server": "https://auger.example.com"},
			})
			if err != nil {
				t.Fatal(err)
			}
			// Really applied, each release as its own field manager: two releases that
			// shared an object would conflict here.
			for _, o := range objs {
				if err := a.apply(ctx, release, o, false); err != nil {
					t.Fatalf("%s: %v", release, err)
				}
			}
		}
		// What the agent's ServiceAccount may do, as the apiserver's RBAC decides it.
		for _, tc := range []struct {
			verb, group, resource string
			allowed               bool
		}{
			{"watch", "", "pods", true}, {"list", "apps", "deployments", true}, {"get", "apps", "replicasets", true},
			{"list", "", "events", true}, {"watch", "kustomize.toolkit.fluxcd.io", "kustomizations", true},
			{"get", "", "secrets", false}, {"list", "", "configmaps", false}, {"create", "apps", "deployments", false},
			{"delete", "", "pods", false}, {"patch", "apps", "deployments", false}, {"create", "", "pods/exec", false},
			// Its one write: its own environment's Flux objects, nobody else's.
			{"patch", "source.toolkit.fluxcd.io", "gitrepositories/auger-staging", true},
			{"patch", "kustomize.toolkit.fluxcd.io", "kustomizations/auger-staging", true},
			{"patch", "kustomize.toolkit.fluxcd.io", "kustomizations/auger-production", false},
			{"patch", "source.toolkit.fluxcd.io", "gitrepositories/flux-system", false},
		} {
			resource, name, _ := strings.Cut(tc.resource, "/")
			namespace := "shop"
			if name != "" {
				namespace = "flux-system"
			}
			sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
				User:               "system:serviceaccount:auger-agents:auger-agent-staging-agent",
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:auger-agents", "system:authenticated"},
				ResourceAttributes: &authzv1.ResourceAttributes{Verb: tc.verb, Group: tc.group, Resource: resource, Name: name, Namespace: namespace},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tc.allowed {
				t.Errorf("agent may %s %s/%s: %v, want %v", tc.verb, tc.group, tc.resource, sar.Status.Allowed, tc.allowed)
			}
		}
	})
	t.Run("kustomize deploy/", func(t *testing.T) {
		res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), ".")
		if err != nil {
			t.Fatal(err)
		}
		var objs []*unstructured.Unstructured
		for _, r := range res.Resources() {
			m, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: m}
			if u.GetKind() == "Namespace" {
				// Dry-run objects need their namespace to exist.
				if err := a.apply(ctx, "kubectl", u, false); err != nil {
					t.Fatal(err)
				}
				continue
			}
			objs = append(objs, u)
		}
		if len(objs) < 8 {
			t.Fatalf("kustomize built only %d objects", len(objs))
		}
		// The agent's one write right stays in flux-system, beside the objects it names:
		// kustomize's namespace for everything else must not move it.
		if got := byKind(objs)["Role/auger-agent-reconcile"]; got == nil || got.GetNamespace() != "flux-system" {
			t.Fatalf("the agent's reconcile Role is not in flux-system: %v", got)
		}
		a.createNamespace(t, ctx, "flux-system")
		dryRun(t, "kubectl", objs)
	})
}

// BenchmarkChartRender: loading the chart, checking the values against the schema and
// rendering every object, as `helm template` does for the README's install.
func BenchmarkChartRender(b *testing.B) {
	for b.Loop() {
		if _, _, err := renderChart("auger", "auger", fullValues("staging")); err != nil {
			b.Fatal(err)
		}
	}
}
