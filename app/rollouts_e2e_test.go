package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auger-dev/auger/agent"
	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/internal/githubfake"
)

const agentEnvironments = `
  - name: staging
    gitops: {repository: mycompany/gitops, path: staging}
    agentToken: {env: STAGING_AGENT_TOKEN}
    url: https://staging.example.com
  - name: production
    gitops: {repository: mycompany/gitops, path: production}
    agentToken: {env: PRODUCTION_AGENT_TOKEN}
`

// agentTokens are the agent tokens agentEnvironments read.
var agentTokens = []string{"STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=production-agent-token"}

func (w *releaseWorld) report(t testing.TB, token string, body any) *http.Response {
	t.Helper()
	data, ok := body.([]byte)
	if !ok {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(w.hook, "/api/github/hook")+"/api/agent/v1/report", bytes.NewReader(data))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (w *releaseWorld) deployCheck(t testing.TB, sha string) githubfake.CheckRun {
	t.Helper()
	for _, cr := range w.augerRuns(sha) {
		if cr.Name == commands.CheckDeployPrefix+"staging" {
			return cr
		}
	}
	t.Fatalf("no deploy check run on %s", sha)
	return githubfake.CheckRun{}
}

func TestAgentReportsBecomeChecksDeploymentsAndReplies(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, "STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=production-agent-token")
	w.repo.SetPermission("jane", "write")
	sha, pr := w.pullRequest(t, "feature", "frontend")
	w.comment(t, pr, "jane", "/deploy staging", "")
	w.reply(t, pr, 1)
	id := commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, sha)
	state := agent.ReleaseState{App: "frontend", Namespace: "staging", Release: id, Repository: "mycompany/frontend", SHA: sha,
		Phase: agent.PhaseProgressing, Workloads: []agent.WorkloadState{{Kind: "Deployment", Name: "frontend", Desired: 2, Updated: 1, Ready: 0, Available: 0}}}
	report := agent.Report{APIVersion: agent.ReportAPIVersion, Env: "staging", Releases: []agent.ReleaseState{state}, SentAt: time.Now()}

	// Refusals first: nothing is told.
	for name, tc := range map[string]struct {
		token string
		body  any
		want  int
	}{
		"no token":        {"", report, http.StatusUnauthorized},
		"wrong token":     {"guess", report, http.StatusUnauthorized},
		"another env":     {"production-agent-token", report, http.StatusForbidden},
		"malformed":       {"staging-agent-token", []byte(`{"apiVersion": `), http.StatusBadRequest},
		"unknown version": {"staging-agent-token", agent.Report{APIVersion: "auger.dev/v9", Env: "staging"}, http.StatusBadRequest},
		"oversized":       {"staging-agent-token", bytes.Repeat([]byte(" "), 9<<20), http.StatusRequestEntityTooLarge},
		"unknown release": {"staging-agent-token", agent.Report{APIVersion: agent.ReportAPIVersion, Env: "staging", Releases: []agent.ReleaseState{{App: "x", Release: "nope", Repository: "mycompany/frontend", SHA: sha}}}, http.StatusOK},
	} {
		if resp := w.report(t, tc.token, tc.body); resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.want)
		}
	}
	if cr := w.deployCheck(t, sha); cr.Status != "in_progress" || strings.Contains(cr.Output.Title, "Rolling out") {
		t.Fatalf("a refused report changed the check run: %+v", cr)
	}

	// Progress, then the same report again: the second costs no GitHub call.
	if resp := w.report(t, "staging-agent-token", report); resp.StatusCode != http.StatusOK {
		t.Fatalf("progress report: %d", resp.StatusCode)
	}
	if cr := w.deployCheck(t, sha); cr.Status != "in_progress" || !strings.Contains(cr.Output.Title, "1/2 updated, 0/2 available") {
		t.Errorf("progressing check run: %+v", cr.Output)
	}
	before := len(w.fake.Requests())
	w.report(t, "staging-agent-token", report)
	if n := len(w.fake.Requests()) - before; n != 0 {
		t.Errorf("an unchanged report made %d GitHub calls", n)
	}

	// Available: the check succeeds, the Deployment is a success with its URL, the reply says live.
	state.Phase, state.Workloads[0] = agent.PhaseAvailable, agent.WorkloadState{Kind: "Deployment", Name: "frontend", Desired: 2, Updated: 2, Ready: 2, Available: 2}
	report.Releases = []agent.ReleaseState{state}
	w.report(t, "staging-agent-token", report)
	if cr := w.deployCheck(t, sha); cr.Conclusion != "success" || !strings.Contains(cr.Output.Title, "is live in staging") {
		t.Errorf("available check run: %s %+v", cr.Conclusion, cr.Output)
	}
	deps := w.repo.Deployments()
	last := deps[len(deps)-1].Statuses
	if final := last[len(last)-1]; final.State != "success" || final.EnvironmentURL != "https://staging.example.com" {
		t.Errorf("deployment statuses = %+v", last)
	}
	if reply := w.reply(t, pr, 1); !strings.Contains(reply, "🟢 **Live**: `frontend`") {
		t.Errorf("reply after the rollout:\n%s", reply)
	}
	if strings.Contains(w.logs.String(), "agent-token") || strings.Contains(w.logs.String(), "guess") {
		t.Error("an agent token reached the logs")
	}
}

func TestFailedRolloutAnnotatesTheEnvConfig(t *testing.T) {
	w := newReleaseWorld(t, agentEnvironments, "STAGING_AGENT_TOKEN=staging-agent-token", "PRODUCTION_AGENT_TOKEN=p")
	w.repo.SetPermission("jane", "write")
	for _, tc := range []struct {
		reason agent.Reason
		line   int // of envConfig's text: image is on line 6
	}{{agent.ReasonImagePull, 6}, {agent.ReasonCrashLoop, 1}} {
		sha, pr := w.pullRequest(t, "feature-"+strings.ToLower(string(tc.reason)), "frontend")
		w.comment(t, pr, "jane", "/deploy staging", "")
		w.reply(t, pr, 1)
		exit := int32(1)
		w.report(t, "staging-agent-token", agent.Report{APIVersion: agent.ReportAPIVersion, Env: "staging", Releases: []agent.ReleaseState{{
			App: "frontend", Namespace: "staging", Release: commands.ArtifactID(commands.RepoRef{Owner: "mycompany", Name: "frontend"}, sha),
			Repository: "mycompany/frontend", SHA: sha, Phase: agent.PhaseFailed, Reason: tc.reason, Message: "container web: it broke",
			Pods: []agent.PodState{{Name: "frontend-abc", Phase: "Running", Restarts: 4, Container: "web", Reason: "CrashLoopBackOff", ExitCode: &exit}},
		}}})
		cr := w.deployCheck(t, sha)
		if cr.Conclusion != "failure" || len(cr.Output.Annotations) != 1 {
			t.Fatalf("%s: check run %s %+v", tc.reason, cr.Conclusion, cr.Output)
		}
		a := cr.Output.Annotations[0]
		if a.Path != ".auger/frontend-staging.yaml" || a.StartLine != tc.line || !strings.Contains(a.Message, "it broke") {
			t.Errorf("%s: annotation %+v", tc.reason, a)
		}
		if !strings.Contains(cr.Output.Summary, "| frontend-abc | Running | false | 4 | CrashLoopBackOff (exit code 1) |") {
			t.Errorf("%s: summary:\n%s", tc.reason, cr.Output.Summary)
		}
		if reply := w.reply(t, pr, 1); !strings.Contains(reply, "🔴 **Failed** in **staging**: "+string(tc.reason)) {
			t.Errorf("%s: reply:\n%s", tc.reason, reply)
		}
	}
}
