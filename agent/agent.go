package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Defaults applied by New.
const (
	DefaultTick         = 200 * time.Millisecond
	DefaultMinInterval  = time.Second
	DefaultResync       = 5 * time.Minute
	DefaultFluxGroup    = "kustomize.toolkit.fluxcd.io"
	defaultReportPath   = "/api/agent/v1/report"
	fluxKustomizationNS = "flux-system"
)

// fluxKustomizations is Flux's Kustomization resource.
var fluxKustomizations = schema.GroupVersionResource{Group: DefaultFluxGroup, Version: "v1", Resource: "kustomizations"}

// Options configure an Agent.
type Options struct {
	// Server is the Auger server's base URL; Env the environment this cluster runs;
	// Token the environment's agent token.
	Server string
	Env    string
	Token  string
	// Namespaces to watch; empty watches all.
	Namespaces []string
	// Config reaches the cluster; Client, when set, is used instead (tests pass
	// client-go's fake clientset).
	Config     *rest.Config
	Client     kubernetes.Interface
	HTTPClient *http.Client
	Log        zerolog.Logger
	// Tick is how often changes are looked for; MinInterval how often one release may be
	// reported; Resync how often everything is reported again.
	Tick, MinInterval, Resync time.Duration
	// MaxBackoff bounds the wait between retries while the server is unreachable.
	MaxBackoff time.Duration
	// Reconcile, when Flux runs, has the agent ask Flux to fetch and apply the environment as
	// soon as the server says Auger wrote to its gitops repository (RequestReconcile), rather
	// than at Flux's next interval. It needs `patch` on auger-<env> (deploy/agent/rbac.yaml).
	Reconcile bool
}

// Agent watches the workloads Auger released in one environment and reports their
// rollout to the server.
type Agent struct {
	opts    Options
	client  kubernetes.Interface
	dynamic dynamic.Interface

	dirty atomic.Bool
	// pending holds, per release, the latest state not yet accepted by the server:
	// bounded by the number of releases however long the server is down.
	mu       sync.Mutex
	pending  map[string]ReleaseState
	sent     map[string]string    // key → fingerprint accepted by the server
	lastSent map[string]time.Time // key → when it was last sent

	listers []listers
	flux    cache.GenericLister
	refused refusedCache
}

type listers struct {
	deployments  func() ([]*appsv1.Deployment, error)
	statefulsets func() ([]*appsv1.StatefulSet, error)
	daemonsets   func() ([]*appsv1.DaemonSet, error)
	replicasets  func() ([]*appsv1.ReplicaSet, error)
	pods         func() ([]*corev1.Pod, error)
	events       func() ([]*corev1.Event, error)
	synced       []cache.InformerSynced
}

// New checks the options and connects to the cluster.
func New(opts Options) (*Agent, error) {
	if opts.Server == "" || opts.Env == "" || opts.Token == "" {
		return nil, errors.New("agent: --server, --env and a token are required")
	}
	if opts.Config == nil && opts.Client == nil {
		return nil, errors.New("agent: no cluster configuration")
	}
	if opts.Tick == 0 {
		opts.Tick = DefaultTick
	}
	if opts.MinInterval == 0 {
		opts.MinInterval = DefaultMinInterval
	}
	if opts.Resync == 0 {
		opts.Resync = DefaultResync
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	client, dyn := opts.Client, dynamic.Interface(nil)
	if client == nil {
		var err error
		if client, err = kubernetes.NewForConfig(opts.Config); err != nil {
			return nil, fmt.Errorf("agent: kubernetes client: %w", err)
		}
		if dyn, err = dynamic.NewForConfig(opts.Config); err != nil {
			return nil, fmt.Errorf("agent: dynamic client: %w", err)
		}
	}
	return &Agent{opts: opts, client: client, dynamic: dyn, pending: map[string]ReleaseState{}, sent: map[string]string{}, lastSent: map[string]time.Time{}}, nil
}

// Selector is the label selector the agent's informers send to the API server, so
// objects Auger did not release never reach the agent's memory.
func Selector(env string) string {
	return labels.Set{LabelManagedBy: ManagedByAuger, LabelEnv: env}.AsSelector().String()
}

// Run watches and reports until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	log := a.opts.Log
	namespaces := a.opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	var synced []cache.InformerSynced
	for _, ns := range namespaces {
		l := a.watch(ctx, ns)
		a.listers = append(a.listers, l)
		synced = append(synced, l.synced...)
	}
	if a.fluxInstalled() {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(a.dynamic, 0, metav1.NamespaceAll, nil)
		inf := f.ForResource(fluxKustomizations)
		inf.Informer().AddEventHandler(a.markDirty())  //nolint:errcheck // the registration handle is not needed
		inf.Informer().SetTransform(stripUnstructured) //nolint:errcheck // set before start
		a.flux = inf.Lister()
		synced = append(synced, inf.Informer().HasSynced)
		f.Start(ctx.Done())
		log.Info().Msg("Flux is installed: reporting its Kustomizations too")
		if a.opts.Reconcile {
			go a.followPushes(ctx)
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("agent: caches did not sync: %w", ctx.Err())
	}
	log.Info().Str("env", a.opts.Env).Strs("namespaces", a.opts.Namespaces).Msg("agent synced; reporting")
	a.dirty.Store(true)
	return a.loop(ctx)
}

// watch starts the informers of one namespace, restricted by Auger's labels.
func (a *Agent) watch(ctx context.Context, ns string) listers {
	selector := Selector(a.opts.Env)
	f := informers.NewSharedInformerFactoryWithOptions(a.client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
		informers.WithTransform(strip))
	// Events carry no labels: take warnings only, and only about pods and replica sets.
	ev := informers.NewSharedInformerFactoryWithOptions(a.client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.Set{"type": corev1.EventTypeWarning}.AsSelector().String()
		}),
		informers.WithTransform(strip))
	deps, sts, dss, rss := f.Apps().V1().Deployments(), f.Apps().V1().StatefulSets(), f.Apps().V1().DaemonSets(), f.Apps().V1().ReplicaSets()
	pods, events := f.Core().V1().Pods(), ev.Core().V1().Events()
	for _, inf := range []cache.SharedIndexInformer{deps.Informer(), sts.Informer(), dss.Informer(), rss.Informer(), pods.Informer(), events.Informer()} {
		inf.AddEventHandler(a.markDirty()) //nolint:errcheck // the registration handle is not needed
	}
	f.Start(ctx.Done())
	ev.Start(ctx.Done())
	return listers{
		deployments:  func() ([]*appsv1.Deployment, error) { return deps.Lister().List(labels.Everything()) },
		statefulsets: func() ([]*appsv1.StatefulSet, error) { return sts.Lister().List(labels.Everything()) },
		daemonsets:   func() ([]*appsv1.DaemonSet, error) { return dss.Lister().List(labels.Everything()) },
		replicasets:  func() ([]*appsv1.ReplicaSet, error) { return rss.Lister().List(labels.Everything()) },
		pods:         func() ([]*corev1.Pod, error) { return pods.Lister().List(labels.Everything()) },
		events:       func() ([]*corev1.Event, error) { return events.Lister().List(labels.Everything()) },
		synced: []cache.InformerSynced{deps.Informer().HasSynced, sts.Informer().HasSynced, dss.Informer().HasSynced,
			rss.Informer().HasSynced, pods.Informer().HasSynced, events.Informer().HasSynced},
	}
}

func (a *Agent) markDirty() cache.ResourceEventHandler {
	mark := func() { a.dirty.Store(true) }
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { mark() },
		UpdateFunc: func(any, any) { mark() },
		DeleteFunc: func(any) { mark() },
	}
}

// fluxInstalled tells whether Flux's Kustomization API is served.
func (a *Agent) fluxInstalled() bool {
	if a.dynamic == nil {
		return false
	}
	_, err := a.client.Discovery().ServerResourcesForGroupVersion(fluxKustomizations.GroupVersion().String())
	return err == nil
}

// strip drops what the agent never reads before an object is cached: managed fields,
// last-applied configurations, and the bulk of pod specs.
func strip(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if ann := m.GetAnnotations(); ann != nil {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Spec.Volumes, o.Spec.Affinity, o.Spec.Tolerations = nil, nil, nil
		for i := range o.Spec.Containers {
			c := &o.Spec.Containers[i]
			c.Env, c.EnvFrom, c.Command, c.Args, c.VolumeMounts = nil, nil, nil, nil, nil
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
		}
		o.Spec.InitContainers = nil
	case *appsv1.ReplicaSet:
		o.Spec.Template.Spec = corev1.PodSpec{}
	case *appsv1.Deployment:
		o.Spec.Template.Spec = corev1.PodSpec{}
	case *appsv1.StatefulSet:
		o.Spec.Template.Spec, o.Spec.VolumeClaimTemplates = corev1.PodSpec{}, nil
	case *corev1.Event:
		// Series stays: it dates the latest occurrence of a repeated event.
		o.Source, o.Related = corev1.EventSource{}, nil
	case *appsv1.DaemonSet:
		o.Spec.Template.Spec = corev1.PodSpec{}
	}
	return obj, nil
}

func stripUnstructured(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
		unstructured.RemoveNestedField(u.Object, "spec")
	}
	return obj, nil
}

// loop looks for changes every tick and reports them, coalesced per release; it resends
// everything periodically and after the server comes back.
func (a *Agent) loop(ctx context.Context) error {
	tick := time.NewTicker(a.opts.Tick)
	defer tick.Stop()
	resync := time.NewTicker(a.opts.Resync)
	defer resync.Stop()
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = 500*time.Millisecond, a.opts.MaxBackoff, 0
	var retryAt time.Time
	full, failing := true, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			full = true
		case <-tick.C:
		}
		if a.dirty.Swap(false) || full {
			a.collect(ctx, full)
		}
		if time.Now().Before(retryAt) {
			continue
		}
		err := a.flush(ctx, full)
		switch {
		case err == nil:
			full = false
			if failing {
				failing = false
				bo.Reset()
			}
		default:
			// The server may miss states while it is away: the report that reaches it
			// again is a full resync.
			failing, full = true, true
			a.collect(ctx, true)
			wait := bo.NextBackOff()
			retryAt = time.Now().Add(wait)
			a.opts.Log.Warn().Err(err).Dur("retry_in", wait).Msg("report not delivered; keeping the latest state per release")
		}
	}
}

// collect evaluates the cluster's objects and queues the states that changed (all of
// them when full).
func (a *Agent) collect(ctx context.Context, full bool) {
	objects := Objects{}
	for _, l := range a.listers {
		deps, _ := l.deployments()
		sts, _ := l.statefulsets()
		dss, _ := l.daemonsets()
		rss, _ := l.replicasets()
		pods, _ := l.pods()
		events, _ := l.events()
		objects.Deployments = append(objects.Deployments, valid(a.opts.Log, deps)...)
		objects.StatefulSets = append(objects.StatefulSets, valid(a.opts.Log, sts)...)
		objects.DaemonSets = append(objects.DaemonSets, valid(a.opts.Log, dss)...)
		objects.ReplicaSets = append(objects.ReplicaSets, rss...)
		objects.Pods = append(objects.Pods, pods...)
		objects.Events = append(objects.Events, events...)
	}
	objects.Flux = a.fluxState()
	states := Evaluate(objects)
	states = append(states, a.refusedReleases(ctx, states, objects.Flux)...)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range states {
		key := Key(s)
		if full || a.sent[key] != stateFingerprint(s) {
			a.pending[key] = s
		}
	}
}

// valid drops workloads with Auger's labels but broken annotations, with a Warn.
func valid[T metav1.Object](log zerolog.Logger, objs []T) []T {
	out := objs[:0:0]
	for _, o := range objs {
		if why := Invalid(o); why != "" {
			log.Warn().Str("namespace", o.GetNamespace()).Str("name", o.GetName()).Str("problem", why).Msg("skipping an object with Auger's labels")
			continue
		}
		out = append(out, o)
	}
	return out
}

// fluxState reads the environment's Flux Kustomization (auger-<env>), when Flux runs.
func (a *Agent) fluxState() *FluxState {
	if a.flux == nil {
		return nil
	}
	obj, err := a.flux.ByNamespace(fluxKustomizationNS).Get("auger-" + a.opts.Env)
	if err != nil {
		return nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	fs := &FluxState{Kustomization: u.GetNamespace() + "/" + u.GetName()}
	fs.Revision, _, _ = unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		fs.Ready = m["status"] == "True"
		// Only a failed apply carries a message: while Flux reconciles (Unknown), every
		// release would otherwise look failed.
		if m["status"] == "False" {
			fs.Message, _ = m["message"].(string)
		}
	}
	return fs
}

// stateFingerprint identifies a state as sent, to send only changes.
func stateFingerprint(s ReleaseState) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// flush sends the pending states whose release was not reported in the last
// MinInterval, as one report.
func (a *Agent) flush(ctx context.Context, full bool) error {
	now := time.Now()
	a.mu.Lock()
	var batch []ReleaseState
	for key, s := range a.pending {
		if full || now.Sub(a.lastSent[key]) >= a.opts.MinInterval {
			batch = append(batch, s)
		}
	}
	a.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	sort.Slice(batch, func(i, j int) bool { return Key(batch[i]) < Key(batch[j]) })
	if err := a.send(ctx, Report{APIVersion: ReportAPIVersion, Env: a.opts.Env, Full: full, Releases: batch, SentAt: now.UTC()}); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range batch {
		key := Key(s)
		a.sent[key] = stateFingerprint(s)
		// The per-release limit is for changes (a flapping pod); a resync is a snapshot
		// and must not delay the next real change.
		if !full {
			a.lastSent[key] = now
		}
		if p, ok := a.pending[key]; ok && stateFingerprint(p) == a.sent[key] {
			delete(a.pending, key)
		}
	}
	return nil
}

// errRefused is a report the server will never take (bad token, wrong environment).
var errRefused = errors.New("report refused")

func (a *Agent) send(ctx context.Context, r Report) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.opts.Server, "/")+defaultReportPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.opts.Token)
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("send report: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w by the server (%d: %s): check the agent's token and --env", errRefused, resp.StatusCode, strings.TrimSpace(string(msg)))
	default:
		return fmt.Errorf("send report: server answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
}
