package app_test

import (
	"testing"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/manifests"
)

// The renderer writes the labels and annotations the agent finds workloads by; the two
// packages may not import each other, so this test keeps their names the same.
func TestRendererAndAgentAgreeOnLabels(t *testing.T) {
	pairs := map[string][2]string{
		"managed-by label":      {manifests.LabelManagedBy, agent.LabelManagedBy},
		"managed-by value":      {manifests.ManagedByAuger, agent.ManagedByAuger},
		"app label":             {manifests.LabelApp, agent.LabelApp},
		"env label":             {manifests.LabelEnv, agent.LabelEnv},
		"release annotation":    {manifests.AnnotationRelease, agent.AnnotationRelease},
		"repository annotation": {manifests.AnnotationRepository, agent.AnnotationRepository},
		"sha annotation":        {manifests.AnnotationSHA, agent.AnnotationSHA},
	}
	for name, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s: the renderer writes %q, the agent reads %q", name, p[0], p[1])
		}
	}
}
