package gitops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Locks live outside every environment's path, so Flux never applies them:
// .auger/locks/<env>/<app>.json, or _env.json for the whole environment.
const (
	locksDir    = ".auger/locks"
	envLockName = "_env"
)

// Lock freezes an environment (App empty) or one app in it against releases.
type Lock struct {
	Env    string    `json:"env"`
	App    string    `json:"app,omitempty"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

func lockParts(env, app string) ([]string, error) {
	if err := checkLabel("env", env); err != nil {
		return nil, err
	}
	name := envLockName
	if app != "" {
		if err := checkLabel("app", app); err != nil {
			return nil, err
		}
		name = app
	}
	return []string{".auger", "locks", env, name + ".json"}, nil
}

// Lock records a lock. Locking what is already locked keeps the first lock. A lock
// whose trigger is already recorded for the environment's locks (a redelivered
// request) writes nothing and returns Recorded with that commit, even when the lock
// was lifted since.
func (r *Repo) Lock(ctx context.Context, l Lock, a Actor) (Result, error) {
	parts, err := lockParts(l.Env, l.App)
	if err != nil {
		return Result{}, fmt.Errorf("lock: %w", err)
	}
	what := describeLock(l.Env, l.App)
	res, err := r.write(ctx, func(st *state) (*plan, string, error) {
		if done, err := st.recorded(lockFolder(parts), a.Trigger); done != "" || err != nil {
			return nil, done, err
		}
		if cur, _, err := subtree(st.s, st.root, parts); err != nil || !cur.IsZero() {
			return nil, "", err
		}
		l.Time = r.opts.Now().UTC().Truncate(time.Second)
		if l.By == "" {
			l.By = a.TriggeredBy
		}
		data, err := json.MarshalIndent(l, "", "  ")
		if err != nil {
			return nil, "", err
		}
		blob, err := st.w.blob(append(data, '\n'))
		if err != nil {
			return nil, "", err
		}
		root, err := st.w.replace(st.root, parts, blob, filemode.Regular)
		if err != nil {
			return nil, "", err
		}
		return &plan{root: root, subject: "Lock " + what,
			trailers: Trailers{Action: ActionLock, App: l.App, Env: l.Env, TriggeredBy: a.TriggeredBy, Trigger: a.Trigger}}, "", nil
	})
	if err != nil {
		return res, fmt.Errorf("lock %s: %w", what, err)
	}
	return res, nil
}

// Unlock removes a lock; unlocking what is not locked changes nothing. Like Lock, an
// unlock whose trigger is already recorded writes nothing and returns Recorded, even
// when someone locked again since.
func (r *Repo) Unlock(ctx context.Context, env, app string, a Actor) (Result, error) {
	parts, err := lockParts(env, app)
	if err != nil {
		return Result{}, fmt.Errorf("unlock: %w", err)
	}
	what := describeLock(env, app)
	res, err := r.write(ctx, func(st *state) (*plan, string, error) {
		if done, err := st.recorded(lockFolder(parts), a.Trigger); done != "" || err != nil {
			return nil, done, err
		}
		if cur, _, err := subtree(st.s, st.root, parts); err != nil || cur.IsZero() {
			return nil, "", err
		}
		root, err := st.w.replace(st.root, parts, plumbing.ZeroHash, 0)
		if err != nil {
			return nil, "", err
		}
		return &plan{root: root, subject: "Unlock " + what,
			trailers: Trailers{Action: ActionUnlock, App: app, Env: env, TriggeredBy: a.TriggeredBy, Trigger: a.Trigger}}, "", nil
	})
	if err != nil {
		return res, fmt.Errorf("unlock %s: %w", what, err)
	}
	return res, nil
}

// Locks returns the locks of an environment (all environments when env is empty),
// environment-wide locks first.
func (r *Repo) Locks(ctx context.Context, env string) ([]Lock, error) {
	var locks []Lock
	err := r.session(ctx, func(st *state) (err error) {
		locks, err = st.locks(env)
		return err
	})
	sort.Slice(locks, func(i, j int) bool {
		if locks[i].Env != locks[j].Env {
			return locks[i].Env < locks[j].Env
		}
		return locks[i].App < locks[j].App
	})
	return locks, err
}

// Locked returns the lock that stops a release of app to env, if any: the
// environment's own lock first, then the app's.
func Locked(locks []Lock, env, app string) *Lock {
	for i, l := range locks {
		if l.Env == env && (l.App == "" || strings.EqualFold(l.App, app)) {
			return &locks[i]
		}
	}
	return nil
}

// lockFolder is the folder of an environment's locks, given a lock's path parts: the
// index knows the commits that changed it, so finding a recorded trigger reads only
// the environment's lock and unlock commits.
func lockFolder(parts []string) string {
	return strings.Join(parts[:len(parts)-1], "/")
}

func describeLock(env, app string) string {
	if app == "" {
		return env
	}
	return app + " in " + env
}

// LockedError is returned when a release or rollback meets a lock.
type LockedError struct{ Lock Lock }

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("%s is locked by %s since %s", describeLock(e.Lock.Env, e.Lock.App), e.Lock.By, e.Lock.Time.Format(time.RFC3339))
	if e.Lock.Reason != "" {
		msg += " (" + e.Lock.Reason + ")"
	}
	return msg + "; unlock it first"
}

// checkLock returns a *LockedError when a lock stops writes to app in env.
func (st *state) checkLock(env, app string) error {
	locked, err := st.lockFor(env, app)
	if err != nil {
		return err
	}
	if locked != nil {
		return locked
	}
	return nil
}

// lockFor returns the lock that stops writes to app in env on this state, if any.
func (st *state) lockFor(env, app string) (*LockedError, error) {
	for _, name := range []string{"", app} {
		parts, err := lockParts(env, name)
		if err != nil {
			return nil, err
		}
		h, mode, err := subtree(st.s, st.root, parts)
		if err != nil || h.IsZero() || !mode.IsFile() {
			if err != nil {
				return nil, err
			}
			continue
		}
		data, err := readBlob(st.s, h)
		if err != nil {
			return nil, err
		}
		var l Lock
		if err := json.Unmarshal(data, &l); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(parts, "/"), err)
		}
		return &LockedError{Lock: l}, nil
	}
	return nil, nil
}
