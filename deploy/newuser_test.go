package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/strvals"

	"github.com/auger-dev/auger/internal/cluster"
	"github.com/auger-dev/auger/internal/snippet"
)

// helmCommand is a `helm template|install RELEASE CHART -n NS --set ... --set-file ...` line.
type helmCommand struct {
	verb, release, chart, namespace string
	values                          map[string]any
	args                            string // everything after the verb, to compare lines
}

// parseHelm reads a README helm line the way helm does: --set and --set-file through
// Helm's own strvals parser; files are the README's snippets.
func parseHelm(t *testing.T, line string, files map[string]string) helmCommand {
	t.Helper()
	line, _, _ = strings.Cut(line, " > ")
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "helm" {
		t.Fatalf("not a helm command: %q", line)
	}
	c := helmCommand{verb: f[1], release: f[2], chart: f[3], namespace: "default", values: map[string]any{}, args: strings.Join(f[2:], " ")}
	for i := 4; i < len(f); i++ {
		if i+1 >= len(f) {
			t.Fatalf("%q: %s has no value", line, f[i])
		}
		flag, val := f[i], f[i+1]
		i++
		switch flag {
		case "-n", "--namespace":
			c.namespace = val
		case "--set":
			if err := strvals.ParseInto(val, c.values); err != nil {
				t.Fatalf("--set %s: %v", val, err)
			}
		case "--set-file":
			err := strvals.ParseIntoFile(val, c.values, func(name []rune) (any, error) {
				content, ok := files[string(name)]
				if !ok {
					return nil, fmt.Errorf("no README snippet for the file %s", string(name))
				}
				return content, nil
			})
			if err != nil {
				t.Fatalf("--set-file %s: %v", val, err)
			}
		default:
			t.Fatalf("%q: the test does not know %s", line, flag)
		}
	}
	return c
}

// TestNewUserPath follows step 4 of the README's path from an empty repository: the chart
// rendered with the README's server config and helm line, checked by a real kube-apiserver.
// (Steps 1 and 2, the env config and the Action, are TestCI in app/.)
func TestNewUserPath(t *testing.T) {
	files := map[string]string{"auger.yaml": snippet.Get(t, "../README.md", "first-server-config")}
	var helm []helmCommand
	var kubectl string
	for _, line := range strings.Split(strings.TrimSpace(snippet.Get(t, "../README.md", "first-helm-install")), "\n") {
		switch {
		case strings.HasPrefix(line, "helm "):
			helm = append(helm, parseHelm(t, line, files))
		case strings.HasPrefix(line, "kubectl "):
			kubectl = line
		}
	}
	if len(helm) != 2 || helm[0].verb != "template" || helm[1].verb != "install" || helm[0].args != helm[1].args || helm[0].chart != "deploy/chart/auger" {
		t.Fatalf("the README should render, then install the same release with the same values: %+v", helm)
	}
	if kubectl != "kubectl apply --dry-run=server -f auger-rendered.yaml" {
		t.Errorf("the README checks the rendering with %q", kubectl)
	}
	objs, notes, err := renderChart(helm[0].release, helm[0].namespace, helm[0].values)
	if err != nil {
		t.Fatalf("helm template of the README: %v", err)
	}
	got := byKind(objs)
	for _, want := range []string{"Deployment/auger-server", "Ingress/auger-server", "Deployment/auger-agent", "ClusterRole/auger-agent"} {
		if got[want] == nil {
			t.Errorf("the README's install lacks %s", want)
		}
	}
	if !strings.Contains(notes, "https://auger.example.com/api/github/hook") {
		t.Errorf("NOTES do not give the webhook URL:\n%s", notes)
	}
	checkServerConfig(t, objs)

	c := cluster.Start(t)
	ctx := context.Background()
	a := newApplier(t, c)
	a.createNamespace(t, ctx, helm[0].namespace)
	a.createNamespace(t, ctx, "flux-system") // Flux runs there: the agent's reconcile Role joins it
	for _, o := range objs {
		if err := a.apply(ctx, "kubectl", o, true); err != nil {
			t.Errorf("server-side dry-run of the README's install: %v", err)
		}
	}
}
