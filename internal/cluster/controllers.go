package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// Options choose what runs besides etcd and kube-apiserver.
type Options struct {
	// Nodes, when more than zero, starts kube-controller-manager (Deployments make
	// ReplicaSets, ReplicaSets make pods, owners' deletions cascade, namespaces empty
	// themselves), kube-scheduler, and kwok with that many fake nodes: pods are scheduled on
	// them and go Pending → Running → Ready the way a kubelet reports it, with no container run.
	// A pod whose first container's image has the tag CrashLoopTag is held failing instead.
	Nodes int
	// Flux installs Flux's CRDs and the flux-system namespace and runs Flux's
	// source-controller and kustomize-controller.
	Flux bool
}

// CrashLoopTag is the image tag that makes kwok hold a pod in CrashLoopBackOff: running,
// never ready, its container restarted after exiting with code 1, as a kubelet reports a
// program that fails at start.
const CrashLoopTag = "kwok-crashloop"

// FluxNamespace is where Flux runs and where its objects for Auger live.
const FluxNamespace = "flux-system"

// kwokNodeAnnotation marks the nodes kwok manages (and only those).
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// controllers are the controller-manager's controllers that workloads need; the others (volumes,
// certificates, quotas, ...) would only cost the test machine's CPU.
var controllers = []string{
	"deployment-controller", "replicaset-controller", "statefulset-controller", "daemonset-controller",
	"garbage-collector-controller", "namespace-controller", "serviceaccount-controller",
	"pod-garbage-collector-controller", "endpointslice-controller",
}

// crashLoopStage is a kwok Stage of Auger's tests: it takes precedence (weight) over kwok's
// pod-ready stage for a Pending pod whose image has CrashLoopTag, and leaves it Running but
// never Ready, its container waiting in CrashLoopBackOff after failed starts.
var crashLoopStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: auger-test-crashloop
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.spec.containers.[0].image | endswith(":` + CrashLoopTag + `")'
      operator: 'In'
      values: ['true']
  weight: 10000
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 4
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            finishedAt: {{ $now | Quote }}
            startedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: CrashLoopBackOff
            message: {{ printf "back-off 1m20s restarting failed container=%s" .name | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
`

// controlPlane holds the optional processes, stopped before the apiserver.
type controlPlane struct {
	processes []*process
}

func (cp *controlPlane) stop() {
	// Flux and kwok first: they write through the controllers' objects.
	for i := len(cp.processes) - 1; i >= 0; i-- {
		cp.processes[i].stop()
	}
}

// startControllers starts what opts asks for on a ready apiserver, and waits until it works.
func (c *Cluster) startControllers(dir, bins string, opts Options) error {
	if opts.Nodes == 0 && !opts.Flux {
		return nil
	}
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(kubeconfig, c.Config); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	admin, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	if opts.Flux {
		if err := installFluxCRDs(ctx, c.Config, admin, filepath.Join(bins, "crds")); err != nil {
			return err
		}
	}
	start := func(name, logName string, env []string, args ...string) (*process, error) {
		p, err := startProcessEnv(filepath.Join(bins, name), filepath.Join(dir, logName), env, args...)
		if err == nil {
			c.controls.processes = append(c.controls.processes, p)
		}
		return p, err
	}
	if opts.Nodes > 0 {
		kcm, err := start("kube-controller-manager", "kube-controller-manager.log", nil,
			"--kubeconfig="+kubeconfig,
			"--authentication-kubeconfig="+kubeconfig,
			"--authorization-kubeconfig="+kubeconfig,
			// No port to collide with: the tests read the controllers' work from the API.
			"--secure-port=0",
			"--leader-elect=false",
			"--controllers="+strings.Join(controllers, ","),
			// Deployments' rollouts are what the tests look at: no throttling of them.
			"--kube-api-qps=200", "--kube-api-burst=400",
		)
		if err != nil {
			return err
		}
		sched, err := start("kube-scheduler", "kube-scheduler.log", nil,
			"--kubeconfig="+kubeconfig,
			"--authentication-kubeconfig="+kubeconfig,
			"--authorization-kubeconfig="+kubeconfig,
			"--secure-port=0",
			"--leader-elect=false",
		)
		if err != nil {
			return err
		}
		stages, err := kwokConfig(dir, filepath.Join(bins, "kwok-stages"))
		if err != nil {
			return err
		}
		kwok, err := start("kwok", "kwok.log", nil,
			"--kubeconfig="+kubeconfig,
			"--config="+stages,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector="+kwokNodeAnnotation+"=fake",
			"--cidr=10.244.0.0/16",
			"--node-ip=10.1.0.1",
		)
		if err != nil {
			return err
		}
		if err := createNodes(ctx, admin, opts.Nodes); err != nil {
			return err
		}
		// The serviceaccount controller gives every namespace its default account: once
		// default/default exists, the controller manager runs.
		if err := waitUntil(ctx, kcm, func() error {
			_, err := admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err
		}); err != nil {
			return err
		}
		if err := waitUntil(ctx, kwok, func() error { return nodesReady(ctx, admin, opts.Nodes) }); err != nil {
			return err
		}
		if sched.exited() {
			return sched.failure(readyTimeout, errors.New("exited"))
		}
	}
	if opts.Flux {
		if err := c.startFlux(ctx, dir, kubeconfig, start); err != nil {
			return err
		}
	}
	return nil
}

// startFlux runs source-controller (its artifacts served on a loopback port) and
// kustomize-controller, and waits for their readiness endpoints.
func (c *Cluster) startFlux(ctx context.Context, dir, kubeconfig string, start func(string, string, []string, ...string) (*process, error)) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	storage := "127.0.0.1:" + strconv.Itoa(ports[0])
	artifacts := filepath.Join(dir, "flux-artifacts")
	if err := os.MkdirAll(artifacts, 0o700); err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=" + FluxNamespace}
	common := []string{"--enable-leader-election=false", "--metrics-addr=0", "--log-level=info", "--log-encoding=console",
		"--watch-all-namespaces=true", "--events-addr="}
	source, err := start("source-controller", "source-controller.log", env, append(common,
		"--health-addr=127.0.0.1:"+strconv.Itoa(ports[1]),
		"--storage-path="+artifacts,
		"--storage-addr="+storage,
		"--storage-adv-addr="+storage,
	)...)
	if err != nil {
		return err
	}
	kustomize, err := start("kustomize-controller", "kustomize-controller.log", env, append(common,
		"--health-addr=127.0.0.1:"+strconv.Itoa(ports[2]),
	)...)
	if err != nil {
		return err
	}
	for i, p := range []*process{source, kustomize} {
		url := "http://127.0.0.1:" + strconv.Itoa(ports[1+i]) + "/readyz"
		if err := waitUntil(ctx, p, func() error { return httpOK(url) }); err != nil {
			return err
		}
	}
	return nil
}

// waitUntil polls ready until it returns nil, p exits or ctx ends.
func waitUntil(ctx context.Context, p *process, ready func() error) error {
	var lastErr error
	for ctx.Err() == nil && !p.exited() {
		if lastErr = ready(); lastErr == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p.failure(readyTimeout, lastErr)
}

func httpOK(url string) error {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// writeKubeconfig writes cfg (server, CA, token) as a kubeconfig file for the controllers.
func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin"}
	kc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// kwokConfig concatenates kwok's own stages (copied by scripts/k8s-binaries.sh) and the
// crash-loop stage into one configuration file.
func kwokConfig(dir, stagesDir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(stagesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no kwok stages in %s: run scripts/k8s-binaries.sh", stagesDir)
	}
	sort.Strings(files)
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.Write(data)
		b.WriteString("\n---\n")
	}
	b.WriteString(crashLoopStage)
	path := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write kwok config: %w", err)
	}
	return path, nil
}

func createNodes(ctx context.Context, admin kubernetes.Interface, n int) error {
	for i := range n {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("kwok-node-%d", i),
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
			Labels:      map[string]string{"type": "kwok", corev1.LabelHostname: fmt.Sprintf("kwok-node-%d", i)},
		}}
		if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}
	return nil
}

func nodesReady(ctx context.Context, admin kubernetes.Interface, n int) error {
	nodes, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, node := range nodes.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < n {
		return fmt.Errorf("%d of %d nodes ready", ready, n)
	}
	return nil
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installFluxCRDs creates the flux-system namespace and every CRD the build copied from the
// controllers' modules, and waits until the apiserver serves them.
func installFluxCRDs(ctx context.Context, cfg *rest.Config, admin kubernetes.Interface, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no Flux CRDs in %s: run scripts/k8s-binaries.sh", dir)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: FluxNamespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", FluxNamespace, err)
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD from %s: %w", f, err)
		}
		names = append(names, crd.GetName())
	}
	for _, name := range names {
		for {
			crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(crd) {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("CRD %s not established: %w", name, ctx.Err())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func established(crd *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
