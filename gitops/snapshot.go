package gitops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// EnvSnapshot is what an environment holds at the tip of its branch, read in one
// fetch: each app's release record and object files, and the environment's locks. A
// dashboard reads it for every environment on every refresh, so it reads the tip's tree
// only, never the history.
type EnvSnapshot struct {
	// Commit is the gitops commit read ("" for a branch not created yet).
	Commit string
	Apps   []AppSnapshot
	Locks  []Lock
}

// AppSnapshot is one app folder at the tip.
type AppSnapshot struct {
	App string
	// Record is the folder's release.json, nil when it has none (written by hand).
	Record *Record
	// Files are the folder's files, sorted.
	Files []string
}

// Tip fetches the branch and returns its commit ("" for a branch not created yet): how a
// server replica learns of writes it did not make.
func (r *Repo) Tip(ctx context.Context) (string, error) {
	var tip string
	err := r.session(ctx, func(st *state) error {
		if !st.tip.IsZero() {
			tip = st.tip.String()
		}
		return nil
	})
	return tip, err
}

// Snapshot reads an environment (t.App is ignored) at the tip of the branch.
func (r *Repo) Snapshot(ctx context.Context, t Target) (EnvSnapshot, error) {
	probe := t
	probe.App = "x"
	parts, err := probe.folder()
	if err != nil {
		return EnvSnapshot{}, err
	}
	var snap EnvSnapshot
	err = r.session(ctx, func(st *state) error {
		if st.tip.IsZero() {
			return nil
		}
		snap.Commit = st.tip.String()
		if snap.Locks, err = st.locks(t.Env); err != nil {
			return err
		}
		env, mode, err := subtree(st.s, st.root, parts[:len(parts)-1])
		if err != nil || env.IsZero() || mode != filemode.Dir {
			return err
		}
		apps, err := treeEntries(st.s, env)
		if err != nil {
			return err
		}
		for name, e := range apps {
			if e.Mode != filemode.Dir || checkLabel("app", name) != nil {
				continue
			}
			files, err := treeEntries(st.s, e.Hash)
			if err != nil {
				return err
			}
			app := AppSnapshot{App: name}
			for f := range files {
				app.Files = append(app.Files, f)
			}
			sort.Strings(app.Files)
			if app.Record, err = st.record(e.Hash); err != nil {
				return fmt.Errorf("%s/%s: %w", env, name, err)
			}
			snap.Apps = append(snap.Apps, app)
		}
		return nil
	})
	sort.Slice(snap.Apps, func(i, j int) bool { return snap.Apps[i].App < snap.Apps[j].App })
	return snap, err
}

// locks reads the locks of an environment (every environment when env is empty).
func (st *state) locks(env string) ([]Lock, error) {
	base, mode, err := subtree(st.s, st.root, []string{".auger", "locks"})
	if err != nil || base.IsZero() || mode != filemode.Dir {
		return nil, err
	}
	envs, err := treeEntries(st.s, base)
	if err != nil {
		return nil, err
	}
	var locks []Lock
	for name, e := range envs {
		if (env != "" && name != env) || e.Mode != filemode.Dir {
			continue
		}
		files, err := readFiles(st.s, e.Hash)
		if err != nil {
			return nil, err
		}
		for fname, data := range files {
			var l Lock
			if err := json.Unmarshal(data, &l); err != nil {
				return nil, fmt.Errorf("%s/%s/%s: %w", locksDir, name, fname, err)
			}
			locks = append(locks, l)
		}
	}
	sort.Slice(locks, func(i, j int) bool { return locks[i].App < locks[j].App })
	return locks, nil
}
