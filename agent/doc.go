// Package agent is Auger's in-cluster agent: it watches the workloads Auger released
// (client-go shared informers on Deployments, StatefulSets, DaemonSets, ReplicaSets,
// Pods and Events, restricted on the server side to app.kubernetes.io/managed-by=auger,
// and Flux Kustomizations when Flux is installed), turns them into a rollout state per
// (env, app, release) with a pure function, and reports changes to the Auger server,
// coalesced and retried, keeping only the latest state per release while the server is
// unreachable. The report format (Report, versioned by ReportAPIVersion) is shared with
// the server.
package agent
