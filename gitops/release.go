package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/internal/text"
)

// File names Auger writes into an app folder besides the rendered objects.
const (
	RecordFile        = "release.json"
	KustomizationFile = "kustomization.yaml"
)

// Target names an app in an environment: the folder <Path>/<App>/ of the gitops
// repository. Path defaults to Env.
type Target struct {
	Env  string
	Path string
	App  string
}

// Actor says who asked for a write and through what, for the Auger-Triggered-By and
// Auger-Trigger trailers. Trigger is the idempotency key: a write whose trigger is
// already recorded for the app makes no second commit.
type Actor struct {
	TriggeredBy string
	Trigger     string
}

// Release is one artifact's env config rendered for an app, ready to be written.
type Release struct {
	Target
	Actor
	Namespace string
	Artifact  string
	Version   artifact.Version
	// Preview marks a preview app (one per branch), which cleanups may delete.
	Preview bool
	// Files are the rendered objects by file name (one directory level).
	Files map[string][]byte
}

// Record is release.json: what is released in an app folder, readable by people and
// by the agent without parsing commit messages.
type Record struct {
	Artifact    string           `json:"artifact"`
	App         string           `json:"app"`
	Env         string           `json:"env"`
	Namespace   string           `json:"namespace,omitempty"`
	Version     artifact.Version `json:"version"`
	TriggeredBy string           `json:"triggeredBy,omitempty"`
	Trigger     string           `json:"trigger,omitempty"`
	Preview     bool             `json:"preview,omitempty"`
	Time        time.Time        `json:"time"`
}

// checkLabel refuses a value that is not a DNS-1123 label, naming its field: env and
// app names become folder names.
func checkLabel(field, value string) error {
	if msg := artifact.DNSLabelProblem(value); msg != "" {
		return fmt.Errorf("%s %s", field, msg)
	}
	return nil
}

// folder validates t and returns the path parts of its app folder.
func (t Target) folder() ([]string, error) {
	if err := checkLabel("env", t.Env); err != nil {
		return nil, err
	}
	if err := checkLabel("app", t.App); err != nil {
		return nil, err
	}
	p := t.Path
	if p == "" {
		p = t.Env
	}
	parts, err := splitPath(p)
	if err != nil {
		return nil, err
	}
	return append(parts, t.App), nil
}

// Release writes the rendered files of one app into its environment's folder, replacing
// what was there, and returns the new commit, or the current one when nothing changed.
func (r *Repo) Release(ctx context.Context, rel Release) (Result, error) {
	return r.release(ctx, rel, "")
}

// Propose is Release for a pull request: the release commit is built on the branch tip
// and pushed to the new branch proposal. A proposal branch that exists already (a
// retry) is returned as Recorded.
func (r *Repo) Propose(ctx context.Context, rel Release, proposal string) (Result, error) {
	if proposal == "" || proposal == r.opts.Branch || plumbing.NewBranchReferenceName(proposal).Validate() != nil {
		return Result{}, fmt.Errorf("propose %s to %s: %q is not a valid proposal branch", rel.App, rel.Env, proposal)
	}
	return r.release(ctx, rel, proposal)
}

func (r *Repo) release(ctx context.Context, rel Release, proposal string) (Result, error) {
	parts, err := rel.Target.folder()
	if err != nil {
		return Result{}, fmt.Errorf("release: %w", err)
	}
	if len(rel.Files) == 0 {
		return Result{}, fmt.Errorf("release %s to %s: no rendered files", rel.App, rel.Env)
	}
	for name := range rel.Files {
		if name == RecordFile || name == KustomizationFile {
			return Result{}, fmt.Errorf("release %s to %s: rendered file %s clashes with Auger's own", rel.App, rel.Env, name)
		}
	}
	kust := kustomization(rel.Files)
	var diff Diff
	res, err := r.writeTo(ctx, proposal, func(st *state) (*plan, string, error) {
		folder := strings.Join(parts, "/")
		if done, err := st.recorded(folder, rel.Trigger); done != "" || err != nil {
			return nil, done, err
		}
		if err := st.checkLock(rel.Env, rel.App); err != nil {
			return nil, "", err
		}
		cur, _, err := subtree(st.s, st.root, parts)
		if err != nil {
			return nil, "", err
		}
		curFiles, err := readFiles(st.s, cur)
		if err != nil {
			return nil, "", err
		}
		if sameRelease(curFiles, rel) {
			return nil, "", nil
		}
		diff = diffFiles(curFiles, rel.Files)
		files := make(map[string][]byte, len(rel.Files)+2)
		for k, v := range rel.Files {
			files[k] = v
		}
		files[KustomizationFile] = kust
		rec, err := json.MarshalIndent(Record{
			Artifact: rel.Artifact, App: rel.App, Env: rel.Env, Namespace: rel.Namespace,
			Version: rel.Version, TriggeredBy: rel.TriggeredBy, Trigger: rel.Trigger, Preview: rel.Preview,
			Time: r.opts.Now().UTC().Truncate(time.Second),
		}, "", "  ")
		if err != nil {
			return nil, "", err
		}
		files[RecordFile] = append(rec, '\n')
		tree, err := st.w.flatTree(files)
		if err != nil {
			return nil, "", err
		}
		root, err := st.w.replace(st.root, parts, tree, filemode.Dir)
		if err != nil {
			return nil, "", err
		}
		return &plan{
			root:    root,
			subject: fmt.Sprintf("Release %s %s to %s", rel.App, text.Short(rel.Version.SHA), rel.Env),
			trailers: Trailers{
				Action: ActionRelease, App: rel.App, Env: rel.Env, Artifact: rel.Artifact,
				Repository: rel.Version.RepositoryName, Sha: rel.Version.SHA,
				TriggeredBy: rel.TriggeredBy, Trigger: rel.Trigger,
			},
		}, "", nil
	})
	if err != nil {
		return res, fmt.Errorf("release %s to %s: %w", rel.App, rel.Env, err)
	}
	if res.Changed {
		res.Diff = diff
	}
	return res, nil
}

// sameRelease tells whether the folder already holds exactly these objects from the same
// artifact, so a repeated release makes no commit.
func sameRelease(cur map[string][]byte, rel Release) bool {
	var rec Record
	if err := json.Unmarshal(cur[RecordFile], &rec); err != nil || rec.Artifact != rel.Artifact {
		return false
	}
	if len(cur) != len(rel.Files)+2 || !bytes.Equal(cur[KustomizationFile], kustomization(rel.Files)) {
		return false
	}
	for name, data := range rel.Files {
		if !bytes.Equal(cur[name], data) {
			return false
		}
	}
	return true
}

// kustomization lists the rendered objects so Flux applies them and nothing else in
// the folder (release.json is not a Kubernetes object).
func kustomization(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Written by Auger: the objects of this release.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, n := range names {
		b.WriteString("- " + n + "\n")
	}
	return []byte(b.String())
}

// recorded returns the commit that already carries trigger for folder, if any.
//
// It reads commits newest first, from the tip back to those committed more than the
// redelivery window before now, and returns the one whose Auger-Trigger trailer is
// trigger and that changed folder. A shallow cache is deepened as the walk needs
// commits it lacks (16, 256, 4,096 commits, then all), so a fresh trigger on a
// repository written rarely costs no extra fetch and a busy one a few. A folder whose
// release.json still names trigger is recorded even when its commit is older than the
// window. See docs/gitops-writes.md, "Idempotency", for why this is enough.
func (st *state) recorded(folder, trigger string) (string, error) {
	if trigger == "" {
		return "", nil
	}
	parts := strings.Split(folder, "/")
	horizon := st.r.opts.Now().Add(-st.r.opts.RedeliveryWindow)
	queue := []plumbing.Hash{st.tip}
	queued := map[plumbing.Hash]bool{st.tip: true}
	for walked := 0; len(queue) > 0 && !st.tip.IsZero(); walked++ {
		h := queue[0]
		queue = queue[1:]
		c, err := st.commitAt(h, walked)
		if err != nil || c == nil {
			return "", err
		}
		if c.Committer.When.Before(horizon) {
			continue
		}
		for _, p := range c.ParentHashes {
			if !queued[p] {
				queued[p] = true
				queue = append(queue, p)
			}
		}
		t, ok := parseTrailers(c.Message)
		if !ok || t.Trigger != trigger || len(c.ParentHashes) > 1 {
			continue
		}
		now, _, err := subtree(st.s, c.TreeHash, parts)
		if err != nil {
			return "", err
		}
		before := plumbing.ZeroHash
		if len(c.ParentHashes) == 1 {
			p, err := st.commitAt(c.ParentHashes[0], walked)
			if err != nil {
				return "", err
			}
			if p != nil {
				if before, _, err = subtree(st.s, p.TreeHash, parts); err != nil {
					return "", err
				}
			}
		}
		if now != before {
			return c.Hash.String(), nil
		}
	}
	// Older than the window, or written without a commit Auger can read: the folder
	// itself still says so.
	cur, _, err := subtree(st.s, st.root, parts)
	if err != nil {
		return "", err
	}
	if rec, err := st.record(cur); err == nil && rec != nil && rec.Trigger == trigger {
		return st.tip.String(), nil
	}
	return "", nil
}

// commitAt reads commit h, deepening a shallow cache when it lacks it (walked commits
// were read before it). It returns nil when the history ends before h.
func (st *state) commitAt(h plumbing.Hash, walked int) (*object.Commit, error) {
	for depth := 16; ; depth *= 16 {
		c, err := object.GetCommit(st.s, h)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, err
		}
		if st.depth == 0 {
			return nil, nil // the whole history is here: h is beyond its start
		}
		if depth > 4096 {
			depth = 0 // all of it
		}
		if depth > 0 && depth <= walked {
			continue
		}
		if err := st.deepen(depth); err != nil {
			return nil, err
		}
	}
}

// Delete removes an app's folder from its environment (a preview's cleanup, say).
// Deleting an app that is not there changes nothing.
func (r *Repo) Delete(ctx context.Context, t Target, a Actor) (Result, error) {
	parts, err := t.folder()
	if err != nil {
		return Result{}, fmt.Errorf("delete: %w", err)
	}
	res, err := r.write(ctx, func(st *state) (*plan, string, error) {
		if done, err := st.recorded(strings.Join(parts, "/"), a.Trigger); done != "" || err != nil {
			return nil, done, err
		}
		cur, _, err := subtree(st.s, st.root, parts)
		if err != nil || cur.IsZero() {
			return nil, "", err
		}
		root, err := st.w.replace(st.root, parts, plumbing.ZeroHash, 0)
		if err != nil {
			return nil, "", err
		}
		return &plan{root: root, subject: fmt.Sprintf("Delete %s from %s", t.App, t.Env),
			trailers: Trailers{Action: ActionDelete, App: t.App, Env: t.Env, TriggeredBy: a.TriggeredBy, Trigger: a.Trigger}}, "", nil
	})
	if err != nil {
		return res, fmt.Errorf("delete %s from %s: %w", t.App, t.Env, err)
	}
	return res, nil
}
