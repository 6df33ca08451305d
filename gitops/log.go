package gitops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/auger-dev/auger/internal/text"
)

// Entry is one commit in an app's release log.
type Entry struct {
	// Number is the entry's position in the app's log, the oldest being 1; it stays
	// the same as the log grows, so "release 12" keeps its meaning.
	Number int `json:"number"`
	// Commit is the gitops commit.
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"`
	Author  string    `json:"author"`
	Subject string    `json:"subject"`
	// Action is what the commit did; ActionExternal when it changed the folder without
	// Auger's trailers.
	Action      Action `json:"action"`
	App         string `json:"app"`
	Env         string `json:"env"`
	Artifact    string `json:"artifact,omitempty"`
	Repository  string `json:"repository,omitempty"`
	Sha         string `json:"sha,omitempty"`
	TriggeredBy string `json:"triggeredBy,omitempty"`
	Trigger     string `json:"trigger,omitempty"`
	RollbackTo  string `json:"rollbackTo,omitempty"`

	// tree is the app folder's tree after the commit (ZeroHash when it was deleted).
	tree plumbing.Hash
}

// entry reads one commit of the log; parts, when given, locate the folder whose tree
// the entry should remember.
func (st *state) entry(h plumbing.Hash, parts []string) (Entry, error) {
	c, err := object.GetCommit(st.s, h)
	if err != nil {
		return Entry{}, err
	}
	subject, _, _ := strings.Cut(c.Message, "\n")
	e := Entry{Commit: h.String(), Time: c.Committer.When.UTC(), Author: c.Author.Name, Subject: subject}
	if t, ok := parseTrailers(c.Message); ok {
		e.Action, e.App, e.Env = t.Action, t.App, t.Env
		e.Artifact, e.Repository, e.Sha = t.Artifact, t.Repository, t.Sha
		e.TriggeredBy, e.Trigger, e.RollbackTo = t.TriggeredBy, t.Trigger, t.RollbackTo
	} else {
		e.Action, e.TriggeredBy = ActionExternal, c.Author.Name
	}
	if parts != nil {
		if e.tree, _, err = subtree(st.s, c.TreeHash, parts); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// appLog returns the log of one app folder, newest first.
func (st *state) appLog(t Target) ([]Entry, error) {
	parts, err := t.folder()
	if err != nil {
		return nil, err
	}
	idx, err := st.index()
	if err != nil {
		return nil, err
	}
	touches := idx.touches(strings.Join(parts, "/"))
	entries := make([]Entry, 0, len(touches))
	for i, tc := range touches {
		e, err := st.entry(tc.Commit, parts)
		if err != nil {
			return nil, fmt.Errorf("read release log of %s in %s: %w", t.App, t.Env, err)
		}
		e.Number = len(touches) - i
		// A commit that touched this folder under another app's trailers (a person's
		// bulk change carrying copied trailers, say) is still this app's history.
		if e.App != t.App {
			e.Action, e.App = ActionExternal, t.App
		}
		if e.Env == "" || e.Action == ActionExternal {
			e.Env = t.Env
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Log returns the release log of one app in an environment, or of every app in it when
// t.App is empty, newest first.
func (r *Repo) Log(ctx context.Context, t Target) ([]Entry, error) {
	var entries []Entry
	err := r.session(ctx, func(st *state) error {
		apps := []string{t.App}
		if t.App == "" {
			var err error
			if apps, err = st.apps(t); err != nil {
				return err
			}
		}
		for _, app := range apps {
			one := t
			one.App = app
			es, err := st.appLog(one)
			if err != nil {
				return err
			}
			entries = append(entries, es...)
		}
		return nil
	})
	if t.App == "" {
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].Time.After(entries[j].Time) })
	}
	return entries, err
}

// Apps lists the apps an environment has now (t.App is ignored), sorted. It reads the
// tip's tree, not the history.
func (r *Repo) Apps(ctx context.Context, t Target) ([]string, error) {
	probe := t
	probe.App = "x"
	parts, err := probe.folder()
	if err != nil {
		return nil, err
	}
	var current []string
	err = r.session(ctx, func(st *state) error {
		env, mode, err := subtree(st.s, st.root, parts[:len(parts)-1])
		if err != nil || env.IsZero() || mode != filemode.Dir {
			return err
		}
		tree, err := object.GetTree(st.s, env)
		if err != nil {
			return err
		}
		for _, e := range tree.Entries {
			if e.Mode == filemode.Dir && checkLabel("app", e.Name) == nil {
				current = append(current, e.Name)
			}
		}
		return nil
	})
	sort.Strings(current)
	return current, err
}

// apps lists the app folders the environment's path ever had (so a deleted app's
// history stays visible).
func (st *state) apps(t Target) ([]string, error) {
	probe := t
	probe.App = "x"
	parts, err := probe.folder()
	if err != nil {
		return nil, err
	}
	idx, err := st.index()
	if err != nil {
		return nil, err
	}
	prefix := strings.Join(parts[:len(parts)-1], "/") + "/"
	var names []string
	for folder := range idx.Folders {
		rest, ok := strings.CutPrefix(folder, prefix)
		if ok && rest != "" && !strings.Contains(rest, "/") && checkLabel("app", rest) == nil {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Rollback restores an app's folder to the exact tree of an earlier release, as a new
// commit. to selects the release: empty for the one before the current release, a
// release number from the log, a gitops commit, or an application sha (prefixes of at
// least 4 characters). It works even if the folder was deleted since. approve, when not
// nil, judges the release to be restored (its log entry and its release record, nil for
// a release written without one) before anything is written; its error stops the
// rollback.
func (r *Repo) Rollback(ctx context.Context, t Target, to string, a Actor, approve func(Entry, *Record) error) (Result, Entry, error) {
	parts, err := t.folder()
	if err != nil {
		return Result{}, Entry{}, fmt.Errorf("roll back: %w", err)
	}
	var target Entry
	res, err := r.write(ctx, func(st *state) (*plan, string, error) {
		if done, err := st.recorded(strings.Join(parts, "/"), a.Trigger); done != "" || err != nil {
			return nil, done, err
		}
		if err := st.checkLock(t.Env, t.App); err != nil {
			return nil, "", err
		}
		log, err := st.appLog(t)
		if err != nil {
			return nil, "", err
		}
		target, err = rollbackTarget(log, to)
		if approve != nil {
			// Asked even when there is nothing to restore (a zero entry), so a refusal
			// is what someone who may not roll back hears first.
			rec, rerr := st.record(target.tree)
			if rerr != nil {
				return nil, "", rerr
			}
			if aerr := approve(target, rec); aerr != nil {
				return nil, "", aerr
			}
		}
		if err != nil {
			return nil, "", err
		}
		cur, _, err := subtree(st.s, st.root, parts)
		if err != nil {
			return nil, "", err
		}
		if cur == target.tree {
			return nil, "", nil
		}
		root, err := st.w.replace(st.root, parts, target.tree, filemode.Dir)
		if err != nil {
			return nil, "", err
		}
		return &plan{
			root:    root,
			subject: fmt.Sprintf("Roll back %s in %s to %s (release %d)", t.App, t.Env, text.Short(target.Sha), target.Number),
			trailers: Trailers{
				Action: ActionRollback, App: t.App, Env: t.Env, Artifact: target.Artifact,
				Repository: target.Repository, Sha: target.Sha,
				TriggeredBy: a.TriggeredBy, Trigger: a.Trigger, RollbackTo: target.Commit,
			},
		}, "", nil
	})
	if err != nil {
		return res, target, fmt.Errorf("roll back %s in %s: %w", t.App, t.Env, err)
	}
	return res, target, nil
}

// ErrNoRollbackTarget is returned when the log holds no release to go back to.
var ErrNoRollbackTarget = errors.New("no earlier release to roll back to")

// rollbackTarget picks the release to restore from a log (newest first).
func rollbackTarget(log []Entry, to string) (Entry, error) {
	if len(log) == 0 {
		return Entry{}, fmt.Errorf("%w: the app has no releases in this environment", ErrNoRollbackTarget)
	}
	releasable := func(e Entry) bool { return !e.tree.IsZero() && e.Action != ActionDelete }
	if to == "" {
		// The current release is the newest entry, or what the newest rollback restored;
		// the target is the release before it with different content.
		// External changes on top of a release do not make a new current release.
		anchor := ""
		for _, e := range log {
			if e.Action == ActionRelease {
				anchor = e.Commit
				break
			}
			if e.Action == ActionRollback && e.RollbackTo != "" {
				anchor = e.RollbackTo
				break
			}
		}
		cur := log[0].tree
		found := false
		for _, e := range log {
			if !found {
				found = e.Commit == anchor
				continue
			}
			if e.Action == ActionRelease && releasable(e) && e.tree != cur {
				return e, nil
			}
		}
		return Entry{}, fmt.Errorf("%w: release %d is the oldest one", ErrNoRollbackTarget, log[len(log)-1].Number)
	}
	if n, err := strconv.Atoi(to); err == nil && len(to) < 7 {
		for _, e := range log {
			if e.Number == n {
				if !releasable(e) {
					return Entry{}, fmt.Errorf("release %d (%s) removed the app; pick a release that has it", n, e.Subject)
				}
				return e, nil
			}
		}
		return Entry{}, fmt.Errorf("no release %d; the log has 1 to %d", n, len(log))
	}
	if len(to) < 4 {
		return Entry{}, fmt.Errorf("%q is too short: give a release number, or at least 4 characters of a gitops commit or app sha", to)
	}
	lower := strings.ToLower(to)
	for _, e := range log {
		if releasable(e) && (strings.HasPrefix(e.Commit, lower) || (e.Action == ActionRelease && strings.HasPrefix(strings.ToLower(e.Sha), lower))) {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no release matches %q (a release number, gitops commit or app sha from `auger releases`)", to)
}

// Current returns the release record in an app's folder, or nil when the app is not
// released there.
func (r *Repo) Current(ctx context.Context, t Target) (*Record, error) {
	parts, err := t.folder()
	if err != nil {
		return nil, err
	}
	var rec *Record
	err = r.session(ctx, func(st *state) error {
		folder, mode, err := subtree(st.s, st.root, parts)
		if err != nil || mode != filemode.Dir {
			return err
		}
		rec, err = st.record(folder)
		return err
	})
	return rec, err
}

// record reads the release record of an app folder's tree, or nil when it has none.
func (st *state) record(folder plumbing.Hash) (*Record, error) {
	if folder.IsZero() {
		return nil, nil
	}
	h, mode, err := subtree(st.s, folder, []string{RecordFile})
	if err != nil || h.IsZero() || !mode.IsFile() {
		return nil, err
	}
	data, err := readBlob(st.s, h)
	if err != nil {
		return nil, err
	}
	rec := &Record{}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("read %s: %w", RecordFile, err)
	}
	return rec, nil
}
