package manifests

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/auger-dev/auger/artifact"
)

// Labels and annotations that Auger puts on every object it renders.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	ManagedByAuger       = "auger"
	LabelApp             = "auger.dev/app"
	LabelEnv             = "auger.dev/env"
	AnnotationRelease    = "auger.dev/release"
	AnnotationRepository = "auger.dev/repository"
	AnnotationSHA        = "auger.dev/sha"
)

// clusterScoped lists the kinds that have no namespace: Kubernetes' own and a few
// well-known custom resources. Other cluster-scoped custom kinds must not be given one by
// the chart either; Auger cannot ask a cluster.
var clusterScoped = map[string]bool{
	"APIService":                       true,
	"CSIDriver":                        true,
	"CSINode":                          true,
	"CertificateSigningRequest":        true,
	"ClusterRole":                      true,
	"ClusterRoleBinding":               true,
	"ClusterTrustBundle":               true,
	"ComponentStatus":                  true,
	"CustomResourceDefinition":         true,
	"DeviceClass":                      true,
	"FlowSchema":                       true,
	"IngressClass":                     true,
	"IPAddress":                        true,
	"MutatingAdmissionPolicy":          true,
	"MutatingAdmissionPolicyBinding":   true,
	"MutatingWebhookConfiguration":     true,
	"Namespace":                        true,
	"Node":                             true,
	"PersistentVolume":                 true,
	"PodSecurityPolicy":                true,
	"PriorityClass":                    true,
	"PriorityLevelConfiguration":       true,
	"RuntimeClass":                     true,
	"ServiceCIDR":                      true,
	"StorageClass":                     true,
	"StorageVersionMigration":          true,
	"ValidatingAdmissionPolicy":        true,
	"ValidatingAdmissionPolicyBinding": true,
	"ValidatingWebhookConfiguration":   true,
	"VolumeAttachment":                 true,
	"VolumeAttributesClass":            true,
	// Well-known custom resources.
	"ClusterIssuer":         true, // cert-manager.io
	"ClusterSecretStore":    true, // external-secrets.io
	"ClusterExternalSecret": true, // external-secrets.io
	"ClusterPolicy":         true, // kyverno.io
	"GatewayClass":          true, // gateway.networking.k8s.io
}

// postProcessor turns documents into Auger's files.
type postProcessor struct {
	ec  artifact.EnvConfig
	rel Release
}

// file post-processes one document and marshals it; the zero File means the document is
// dropped (empty, or a test hook).
func (p postProcessor) file(d document) (File, error) {
	obj := d.obj
	if obj == nil {
		return File{}, nil
	}
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return File{}, fmt.Errorf("%s: an object has no kind", d.source)
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return File{}, fmt.Errorf("%s: %s has no metadata", d.source, kind)
	}
	name, _ := meta["name"].(string)
	if name == "" {
		return File{}, fmt.Errorf("%s: %s has no metadata.name (generateName cannot be applied by GitOps)", d.source, kind)
	}
	if isTestHook(meta) {
		return File{}, nil
	}
	if ns, _ := meta["namespace"].(string); ns == "" && !clusterScoped[kind] && p.ec.Namespace != "" {
		meta["namespace"] = p.ec.Namespace
	}
	if err := p.mark(meta); err != nil {
		return File{}, fmt.Errorf("%s: %s %s: %w", d.source, kind, name, err)
	}
	if err := p.markPodTemplates(obj, kind); err != nil {
		return File{}, fmt.Errorf("%s: %s %s: %w", d.source, kind, name, err)
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return File{}, fmt.Errorf("%s: %s %s: %w", d.source, kind, name, err)
	}
	return File{Name: fileName(kind, name), Data: data}, nil
}

// mark sets Auger's labels and annotations in an object's (or pod template's) metadata.
func (p postProcessor) mark(meta map[string]any) error {
	labels, err := stringMap(meta, "labels")
	if err != nil {
		return err
	}
	labels[LabelManagedBy] = ManagedByAuger
	labels[LabelApp] = p.ec.App
	labels[LabelEnv] = p.ec.Env
	annotations, err := stringMap(meta, "annotations")
	if err != nil {
		return err
	}
	for k, v := range map[string]string{AnnotationRelease: p.rel.ArtifactID, AnnotationRepository: p.rel.Repository, AnnotationSHA: p.rel.SHA} {
		if v != "" {
			annotations[k] = v
		}
	}
	if len(annotations) == 0 {
		delete(meta, "annotations")
	}
	return nil
}

// markPodTemplates marks the pod template of workloads, and a CronJob's job template, so
// that pods carry the release they run.
func (p postProcessor) markPodTemplates(obj map[string]any, kind string) error {
	apiVersion, _ := obj["apiVersion"].(string)
	group, _, _ := strings.Cut(apiVersion, "/")
	var paths [][]string
	switch {
	case kind == "CronJob" && group == "batch":
		paths = [][]string{{"spec", "jobTemplate", "metadata"}, {"spec", "jobTemplate", "spec", "template", "metadata"}}
	case kind == "Job" && group == "batch",
		(kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet") && (group == "apps" || group == "extensions"):
		paths = [][]string{{"spec", "template", "metadata"}}
	}
	for _, path := range paths {
		meta, err := nestedMap(obj, path)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
		}
		if meta == nil {
			continue // no template: the API server will say so
		}
		if err := p.mark(meta); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
		}
	}
	return nil
}

// nestedMap returns the map at path, creating the last element (metadata) when its parent
// exists; nil when a parent is missing.
func nestedMap(obj map[string]any, path []string) (map[string]any, error) {
	cur := obj
	for i, key := range path {
		v, ok := cur[key]
		if !ok || v == nil {
			if i < len(path)-1 {
				return nil, nil
			}
			m := map[string]any{}
			cur[key] = m
			return m, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", key)
		}
		cur = m
	}
	return cur, nil
}

// stringMap returns meta[key] as a map, creating it when missing.
func stringMap(meta map[string]any, key string) (map[string]any, error) {
	switch v := meta[key].(type) {
	case map[string]any:
		return v, nil
	case nil:
		m := map[string]any{}
		meta[key] = m
		return m, nil
	default:
		return nil, errors.New("metadata." + key + " is not a map")
	}
}

// isTestHook reports whether an object is only a Helm test hook, which `helm test` runs
// and a GitOps release must not.
func isTestHook(meta map[string]any) bool {
	annotations, _ := meta["annotations"].(map[string]any)
	hooks, _ := annotations["helm.sh/hook"].(string)
	if strings.TrimSpace(hooks) == "" {
		return false
	}
	for _, h := range strings.Split(hooks, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success", "test-failure":
		default:
			return false
		}
	}
	return true
}

// fileName is "<kind>-<name>.yaml" in lower case, every character outside [a-z0-9.-]
// replaced by "-".
func fileName(kind, name string) string {
	s := []byte(strings.ToLower(kind + "-" + name))
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			s[i] = '-'
		}
	}
	return string(s) + ".yaml"
}
