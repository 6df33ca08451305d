package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/app"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/cluster"
	"github.com/auger-dev/auger/internal/githubfake"
)

// fluxTimeout bounds each wait on the real loop. Flux polls its GitRepository every minute
// (the interval `auger env create` writes) unless asked to reconcile sooner.
const fluxTimeout = 150 * time.Second

// gitopsSecret is the Secret in flux-system that Flux clones the gitops repository with.
const gitopsSecret = "auger-gitops"

var (
	gitRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationsR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// fluxLoop is the whole release loop on real peers: GitHub (the fake), Auger, the gitops
// repository behind a smart-HTTP git server, a control plane with kwok's fake nodes, Flux's
// source- and kustomize-controllers applying the repository, and one agent per environment.
type fluxLoop struct {
	*releaseWorld
	cluster *cluster.Cluster
	admin   kubernetes.Interface
	dyn     dynamic.Interface
	ctx     context.Context
	// envCreate is the output of `auger env create` per environment.
	envCreate map[string]string
}

// newFluxLoop starts the loop for the environments named in envs (each configured in
// environments, staging, production or preview, with the agent token
// <ENV>_AGENT_TOKEN=<env>-agent-token): `auger env
// create` writes each bootstrap, which is applied as an operator would, with the Secret it
// names holding an installation token, as a private GitHub repository needs.
func newFluxLoop(t testing.TB, environments string, envs ...string) *fluxLoop {
	t.Helper()
	return startFluxLoop(t, environments, true, envs...)
}

// startFluxLoop is newFluxLoop; reconcile says whether the agents ask Flux to reconcile
// after each gitops write, or leave it to Flux's interval.
func startFluxLoop(t testing.TB, environments string, reconcile bool, envs ...string) *fluxLoop {
	t.Helper()
	c := cluster.StartWith(t, cluster.Options{Nodes: 2, Flux: true})
	var tokens []string
	for _, env := range []string{"staging", "production", "preview"} {
		tokens = append(tokens, strings.ToUpper(env)+"_AGENT_TOKEN="+env+"-agent-token")
	}
	w := newReleaseWorld(t, environments, tokens...)
	w.repo.SetPermission("jane", "write")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	l := &fluxLoop{releaseWorld: w, cluster: c, admin: c.Client(t), dyn: dyn, ctx: ctx, envCreate: map[string]string{}}
	grantAgentRole(t, ctx, l.admin)
	grantReconcileRole(t, ctx, l.admin, envs)

	token := installationToken(t, w.world)
	t.Setenv("AUGER_GITOPS_TOKEN", token)
	gitopsURL := w.git.URL + "/mycompany/gitops.git"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: gitopsSecret, Namespace: cluster.FluxNamespace},
		StringData: map[string]string{"username": "x-access-token", "password": token}}
	if _, err := l.admin.CoreV1().Secrets(cluster.FluxNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		var out, errs bytes.Buffer
		code := app.Main([]string{"env", "create", "--gitops-repo", gitopsURL, "--env", env, "--secret", gitopsSecret,
			"--cache-dir", t.TempDir(), "--triggered-by", "ops"}, &out, &errs)
		stdout, errOut := out.String(), errs.String()
		if code != 0 {
			t.Fatalf("auger env create --env %s (%d): %s %s", env, code, stdout, errOut)
		}
		l.envCreate[env] = stdout
		for _, f := range []string{"source.yaml", "sync.yaml"} {
			l.apply(t, w.gitops(t, "show", "main:flux/"+env+"/"+f))
		}
		if _, err := l.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Options{Server: strings.TrimSuffix(w.hook, "/api/github/hook"), Env: env, Token: env + "-agent-token",
			Config: c.AgentConfig(), Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel), Tick: 50 * time.Millisecond, MinInterval: 200 * time.Millisecond,
			Reconcile: reconcile})
		if err != nil {
			t.Fatal(err)
		}
		go a.Run(ctx) //nolint:errcheck // ends with ctx
	}
	// Flux has read the bootstrap commit: the loop is closed before the first release.
	for _, env := range envs {
		l.waitKustomization(t, env, "the bootstrap applied", func(k *unstructured.Unstructured) bool {
			return ready(k) && strings.HasSuffix(revision(k), w.gitops(t, "rev-parse", "main"))
		})
	}
	return l
}

// grantReconcileRole creates deploy/agent/rbac.yaml's Role (its patch right on the
// environment's own Flux objects) for each environment, bound to the cluster's agent user.
func grantReconcileRole(t testing.TB, ctx context.Context, admin kubernetes.Interface, envs []string) {
	t.Helper()
	data, err := os.ReadFile("../deploy/agent/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var r rbacv1.Role
		if err := yaml.Unmarshal(doc, &r); err == nil && r.Kind == "Role" {
			role = r
		}
	}
	if len(role.Rules) == 0 {
		t.Fatal("deploy/agent/rbac.yaml has no Role")
	}
	for _, env := range envs {
		r := role.DeepCopy()
		r.Name += "-" + env
		for i := range r.Rules {
			r.Rules[i].ResourceNames = []string{"auger-" + env}
		}
		if _, err := admin.RbacV1().Roles(r.Namespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: r.Name},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: cluster.AgentUser, APIGroup: "rbac.authorization.k8s.io"}}}
		if _, err := admin.RbacV1().RoleBindings(r.Namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// apply creates the object of a YAML manifest, as `kubectl apply` would the first time.
func (l *fluxLoop) apply(t testing.TB, manifest string) {
	t.Helper()
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil || u.GetKind() == "" {
		t.Fatalf("manifest: %v\n%s", err, manifest)
	}
	gvr := map[string]schema.GroupVersionResource{"GitRepository": gitRepositories, "Kustomization": kustomizationsR}[u.GetKind()]
	if _, err := l.dyn.Resource(gvr).Namespace(u.GetNamespace()).Create(l.ctx, &u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func (l *fluxLoop) kustomization(t testing.TB, env string) *unstructured.Unstructured {
	t.Helper()
	k, err := l.dyn.Resource(kustomizationsR).Namespace(cluster.FluxNamespace).Get(l.ctx, "auger-"+env, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitKustomization waits until the environment's Kustomization satisfies ok.
func (l *fluxLoop) waitKustomization(t testing.TB, env, what string, ok func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var k *unstructured.Unstructured
	l.eventually(t, what, func() bool {
		k = l.kustomization(t, env)
		return ok(k)
	}, func() string { y, _ := yaml.Marshal(k.Object["status"]); return string(y) })
	return k
}

// eventually polls ok until fluxTimeout, then fails with what and the state described.
func (l *fluxLoop) eventually(t testing.TB, what string, ok func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(fluxTimeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; state:\n%s\nAuger's logs:\n%s", what, fluxTimeout, state(), l.logs.String())
}

// waitDeploy waits for the deploy check run of env on sha to complete, and returns it.
func (l *fluxLoop) waitDeploy(t testing.TB, env, sha string) githubfake.CheckRun {
	t.Helper()
	var found githubfake.CheckRun
	l.eventually(t, "the deploy check run of "+env+" on "+sha[:7]+" completes", func() bool {
		for _, cr := range l.augerRuns(sha) {
			if cr.Name == commands.CheckDeployPrefix+env && cr.Status == "completed" {
				found = cr
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("%+v", l.augerRuns(sha)) })
	return found
}

// runningPods returns the pods of a Deployment that run Ready on kwok's nodes with image.
func (l *fluxLoop) runningPods(t testing.TB, ns, app, image string) []corev1.Pod {
	t.Helper()
	pods, err := l.admin.CoreV1().Pods(ns).List(l.ctx, metav1.ListOptions{LabelSelector: agent.LabelApp + "=" + app})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && strings.HasPrefix(p.Spec.NodeName, "kwok-node-") &&
			p.Spec.Containers[0].Image == image && podReady(p) {
			out = append(out, p)
		}
	}
	return out
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ready(k *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
	for _, c := range conditions {
		if m, _ := c.(map[string]any); m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
}

func revision(k *unstructured.Unstructured) string {
	r, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
	return r
}

func (l *fluxLoop) deployment(t testing.TB, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := l.admin.AppsV1().Deployments(ns).Get(l.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const fluxEnvironments = `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
    agentToken: {env: STAGING_AGENT_TOKEN}
    url: https://staging.example.com
  - name: production
    gitops: {repository: mycompany/gitops, path: production}
    agentToken: {env: PRODUCTION_AGENT_TOKEN}
    url: https://example.com
`

// From `/deploy staging` to pods running on the cluster's nodes, with nothing written by hand:
// Auger commits the release, Flux fetches and applies it, the controller manager rolls the
// Deployment out, kwok runs its pods, the agent reports, and GitHub hears that it is live.
func TestFluxDeploysToRunningPods(t *testing.T) {
	l := newFluxLoop(t, fluxEnvironments, "staging")
	sha, pr := l.pullRequest(t, "feature", "frontend")
	l.comment(t, pr, "jane", "/deploy staging", "")
	l.reply(t, pr, 1)
	gitopsHead := l.gitops(t, "rev-parse", "main")

	check := l.waitDeploy(t, "staging", sha)
	if check.Conclusion != "success" || !strings.Contains(check.Output.Title, "is live in staging") {
		t.Fatalf("deploy check run: %s %q\n%s\nlogs:\n%s", check.Conclusion, check.Output.Title, check.Output.Summary, l.logs.String())
	}
	if k := l.kustomization(t, "staging"); !strings.HasSuffix(revision(k), gitopsHead) {
		t.Errorf("Flux applied %s, want the release commit %s", revision(k), gitopsHead)
	}
	image := "ghcr.io/mycompany/frontend:" + sha
	if pods := l.runningPods(t, "staging", "frontend", image); len(pods) == 0 {
		t.Errorf("no pod of %s runs ready on a kwok node", image)
	}
	d := l.deployment(t, "staging", "frontend")
	if d.Status.AvailableReplicas != *d.Spec.Replicas || d.Annotations[agent.AnnotationSHA] != sha {
		t.Errorf("deployment: %d/%d available, sha %q", d.Status.AvailableReplicas, *d.Spec.Replicas, d.Annotations[agent.AnnotationSHA])
	}
	l.eventually(t, "the GitHub Deployment is a success with the environment's URL", func() bool {
		for _, dep := range l.repo.Deployments() {
			if dep.Ref == sha && len(dep.Statuses) > 0 {
				s := dep.Statuses[len(dep.Statuses)-1]
				return s.State == "success" && s.EnvironmentURL == "https://staging.example.com"
			}
		}
		return false
	}, func() string { return fmt.Sprintf("%+v", l.repo.Deployments()) })
	if reply := l.reply(t, pr, 1); !strings.Contains(reply, "🟢 **Live**: `frontend`") {
		t.Errorf("reply after the rollout:\n%s", reply)
	}
	if !strings.Contains(l.envCreate["staging"], "kubectl -n flux-system create secret generic "+gitopsSecret) {
		t.Errorf("env create did not say how to create the Secret:\n%s", l.envCreate["staging"])
	}

	// Least privilege: the agent may patch its environment's Flux objects and no others.
	agentDyn, err := dynamic.NewForConfig(l.cluster.AgentConfig())
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"annotations":{"test":"x"}}}`)
	if _, err := agentDyn.Resource(gitRepositories).Namespace(cluster.FluxNamespace).Patch(l.ctx, "auger-staging", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Errorf("the agent cannot patch its own GitRepository: %v", err)
	}
	other := l.kustomization(t, "staging")
	other.SetName("someone-else")
	other.SetResourceVersion("")
	delete(other.Object, "status")
	_ = unstructured.SetNestedField(other.Object, true, "spec", "suspend") // only its name matters
	if _, err := l.dyn.Resource(kustomizationsR).Namespace(cluster.FluxNamespace).Create(l.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := agentDyn.Resource(kustomizationsR).Namespace(cluster.FluxNamespace).Patch(l.ctx, "someone-else", types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the agent patched another Kustomization: %v", err)
	}
}

// deployLive comments `/deploy <env>` on a pull request and waits until the release is live.
func (l *fluxLoop) deployLive(t testing.TB, pr, replies int, env, sha string) {
	t.Helper()
	l.comment(t, pr, "jane", "/deploy "+env, "")
	l.reply(t, pr, replies)
	if check := l.waitDeploy(t, env, sha); check.Conclusion != "success" {
		t.Fatalf("deploy %s of %s: %s %q\n%s", env, sha[:7], check.Conclusion, check.Output.Title, check.Output.Summary)
	}
}

// waitPods waits until the app's pods in ns run ready on kwok nodes with image.
func (l *fluxLoop) waitPods(t testing.TB, ns, app, image string) {
	t.Helper()
	l.eventually(t, app+" runs "+image+" in "+ns, func() bool {
		return len(l.runningPods(t, ns, app, image)) > 0
	}, func() string {
		pods, _ := l.admin.CoreV1().Pods(ns).List(l.ctx, metav1.ListOptions{})
		var b strings.Builder
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "%s %s %s %s\n", p.Name, p.Spec.Containers[0].Image, p.Spec.NodeName, p.Status.Phase)
		}
		return b.String()
	})
}

// `/rollback staging` puts the previous release back in the gitops repository, and the
// cluster runs its image again.
func TestFluxRollbackRunsThePreviousImage(t *testing.T) {
	l := newFluxLoop(t, fluxEnvironments, "staging")
	first, pr1 := l.pullRequest(t, "first", "frontend")
	l.deployLive(t, pr1, 1, "staging", first)
	second, pr2 := l.pullRequest(t, "second", "frontend")
	l.deployLive(t, pr2, 1, "staging", second)
	l.waitPods(t, "staging", "frontend", "ghcr.io/mycompany/frontend:"+second)

	l.comment(t, pr2, "jane", "/rollback staging", "")
	l.reply(t, pr2, 2)
	l.eventually(t, "the Deployment runs the first release's image again", func() bool {
		d := l.deployment(t, "staging", "frontend")
		return d.Spec.Template.Spec.Containers[0].Image == "ghcr.io/mycompany/frontend:"+first &&
			d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas
	}, func() string { d := l.deployment(t, "staging", "frontend"); return fmt.Sprintf("%+v", d.Status) })
	l.waitPods(t, "staging", "frontend", "ghcr.io/mycompany/frontend:"+first)
}

// Pods that never become ready (kwok holds them in CrashLoopBackOff) fail the release, with
// the reason, annotated on the env config.
func TestFluxNeverReadyPodsFailTheRelease(t *testing.T) {
	l := newFluxLoop(t, fluxEnvironments, "staging")
	config := strings.Replace(l.envConfig("frontend", "staging", false), `tag: "{{ .SHA }}"`, "tag: "+cluster.CrashLoopTag, 1)
	sha, pr := l.pullRequestWith(t, "crashing", map[string]string{".auger/frontend-staging.yaml": config})
	l.comment(t, pr, "jane", "/deploy staging", "")
	l.reply(t, pr, 1)
	check := l.waitDeploy(t, "staging", sha)
	if check.Conclusion != "failure" || !strings.Contains(check.Output.Title, string(agent.ReasonCrashLoop)) {
		t.Fatalf("deploy check run: %s %q\n%s", check.Conclusion, check.Output.Title, check.Output.Summary)
	}
	if len(check.Output.Annotations) != 1 || check.Output.Annotations[0].Path != ".auger/frontend-staging.yaml" {
		t.Errorf("annotations: %+v", check.Output.Annotations)
	}
	if !strings.Contains(check.Output.Summary, "exit code 1") && !strings.Contains(check.Output.Summary, "CrashLoopBackOff") {
		t.Errorf("the summary does not say why:\n%s", check.Output.Summary)
	}
}

// A manifest the API server refuses (a container port out of range) makes Flux's
// server-side apply fail: the release fails with Flux's message, and nothing half-applies.
func TestFluxRefusedManifestFailsTheRelease(t *testing.T) {
	l := newFluxLoop(t, fluxEnvironments, "staging")
	config := l.envConfig("frontend", "staging", false) + "  containerPort: 70000\n"
	sha, pr := l.pullRequestWith(t, "bad-port", map[string]string{".auger/frontend-staging.yaml": config})
	l.comment(t, pr, "jane", "/deploy staging", "")
	l.reply(t, pr, 1)
	check := l.waitDeploy(t, "staging", sha)
	k := l.kustomization(t, "staging")
	if check.Conclusion != "failure" || !strings.Contains(check.Output.Title, string(agent.ReasonFluxApply)) ||
		!strings.Contains(check.Output.Summary, "70000") {
		t.Fatalf("deploy check run: %s %q\n%s\nKustomization: %v", check.Conclusion, check.Output.Title, check.Output.Summary, k.Object["status"])
	}
	if _, err := l.admin.AppsV1().Deployments("staging").Get(l.ctx, "frontend", metav1.GetOptions{}); err == nil {
		t.Error("the refused Deployment exists")
	}
}

const previewEnvironments = `
  - name: preview
    gitops: {repository: mycompany/gitops, path: preview}
    url: "https://{{ .APP }}.preview.example.com"
    agentToken: {env: PREVIEW_AGENT_TOKEN}
`

// A preview is released with its pull request and cleaned up when it closes: Flux prunes
// the objects the clean-up removed from the gitops repository.
func TestFluxPrunesACleanedUpPreview(t *testing.T) {
	l := newFluxLoop(t, previewEnvironments, "preview")
	config := strings.Replace(fmt.Sprintf(previewConfig, l.chartURL, "prClosed"), "namespace: previews", "namespace: preview", 1)
	sha, pr := l.pullRequestWith(t, "Feature/Login", map[string]string{".auger/preview.yaml": config})
	l.previewComment(t, pr, "released")
	const app = "frontend-feature-login"
	if check := l.waitDeploy(t, "preview", sha); check.Conclusion != "success" {
		t.Fatalf("preview deploy: %s %q", check.Conclusion, check.Output.Title)
	}
	l.waitPods(t, "preview", app, "ghcr.io/mycompany/frontend:"+sha)

	closed := githubfake.Payload(t, "pull_request", "closed")
	l.repo.RetargetPull(closed, pr)
	closed["pull_request"].(map[string]any)["state"] = "closed"
	l.fake.Deliver(t, l.hook, testSecret, "pull_request", "", closed)
	l.previewComment(t, pr, "removed")
	l.eventually(t, "Flux prunes the preview's Deployment, Service and pods", func() bool {
		_, errD := l.admin.AppsV1().Deployments("preview").Get(l.ctx, app, metav1.GetOptions{})
		_, errS := l.admin.CoreV1().Services("preview").Get(l.ctx, app, metav1.GetOptions{})
		pods, _ := l.admin.CoreV1().Pods("preview").List(l.ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(errD) && apierrors.IsNotFound(errS) && len(pods.Items) == 0
	}, func() string { return fmt.Sprintf("%v", l.kustomization(t, "preview").Object["status"]) })
}

// Two apps in one environment and two environments from one gitops repository: each
// environment's Flux applies its own folder only.
func TestFluxTwoAppsTwoEnvironments(t *testing.T) {
	l := newFluxLoop(t, fluxEnvironments, "staging", "production")
	sha, pr := l.pullRequest(t, "both", "frontend", "backend")
	l.deployLive(t, pr, 1, "staging", sha)
	for _, app := range []string{"frontend", "backend"} {
		l.waitPods(t, "staging", app, "ghcr.io/mycompany/"+app+":"+sha)
	}
	if deps, _ := l.admin.AppsV1().Deployments("production").List(l.ctx, metav1.ListOptions{}); len(deps.Items) != 0 {
		t.Errorf("production runs %d Deployments before its release", len(deps.Items))
	}
	l.deployLive(t, pr, 2, "production", sha)
	for _, app := range []string{"frontend", "backend"} {
		l.waitPods(t, "production", app, "ghcr.io/mycompany/"+app+":"+sha)
	}
	for _, env := range []string{"staging", "production"} {
		if k := l.kustomization(t, env); !ready(k) {
			t.Errorf("%s's Kustomization is not ready: %v", env, k.Object["status"])
		}
	}
}

// `auger env create --secret` for a private repository writes the Secret's reference, never
// the token, and tells how to create the Secret; without --secret it says one is needed.
func TestEnvCreateForAPrivateRepository(t *testing.T) {
	w := newReleaseWorld(t, fluxEnvironments, "STAGING_AGENT_TOKEN=s", "PRODUCTION_AGENT_TOKEN=p")
	token := installationToken(t, w.world)
	t.Setenv("AUGER_GITOPS_TOKEN", token)
	gitopsURL := w.git.URL + "/mycompany/gitops.git"
	stdout, errOut, code := run(t, "env", "create", "--gitops-repo", gitopsURL, "--env", "staging", "--secret", gitopsSecret, "--cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("env create (%d): %s %s", code, stdout, errOut)
	}
	want := "kubectl -n flux-system create secret generic " + gitopsSecret + " --from-literal=username=x-access-token --from-literal=password=<token>"
	if !strings.Contains(stdout, want) || strings.Contains(stdout, token) {
		t.Errorf("env create says:\n%s", stdout)
	}
	source := w.gitops(t, "show", "main:flux/staging/source.yaml")
	if !strings.Contains(source, "secretRef:\n    name: "+gitopsSecret) || !strings.Contains(source, "url: "+gitopsURL) || strings.Contains(source, token) {
		t.Errorf("source.yaml:\n%s", source)
	}
	stdout, errOut, code = run(t, "env", "create", "--gitops-repo", gitopsURL, "--env", "production", "--cache-dir", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "for a private repository run again with --secret NAME") {
		t.Errorf("env create without --secret (%d):\n%s%s", code, stdout, errOut)
	}
}
