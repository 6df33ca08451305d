package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/auger-dev/auger/commands"
	"github.com/auger-dev/auger/gitops"
)

// The dashboard shows what GitHub, the gitops repositories and the agents' reports
// (which Auger turns into the deploy check runs) say, never what one replica remembers:
// its caches are short, refreshed when someone looks, and dropped when a webhook or an
// action says something changed. Any replica shows the same page within a refresh.

// Freshness of what the reader caches.
const (
	// snapshotTTL is how long the environments' gitops snapshots are shown as they are;
	// a view after that shows them and refreshes them behind (within snapshotStale).
	snapshotTTL   = time.Second
	snapshotStale = 30 * time.Second
	// runsTTL is how long a commit's check runs are reused while a release on it still
	// rolls out; settledRunsTTL once every deploy check run on it has completed (a
	// webhook about the commit drops them sooner).
	runsTTL        = 2 * time.Second
	settledRunsTTL = time.Minute
	// userReposTTL is how long the repositories a person can read are reused.
	userReposTTL = time.Minute
	// artifactsTTL is how long a repository's recent artifacts are reused.
	artifactsTTL = 10 * time.Second
	// fetchParallel bounds the GitHub requests one refresh makes at once.
	fetchParallel = 8
)

// envState is one environment as its gitops repository shows it.
type envState struct {
	rules *commands.EnvironmentRules
	gitops.EnvSnapshot
	// err is why the snapshot could not be read (shown, never fatal).
	err error
}

// snapshot is every environment, read at one time.
type snapshot struct {
	at   time.Time
	envs []envState
}

// runsEntry is a commit's check runs as read at a time.
type runsEntry struct {
	runs []commands.CheckRun
	at   time.Time
}

// reader reads and caches what the pages show.
type reader struct {
	cfg *Config

	mu    sync.Mutex
	snap  *snapshot
	stale bool
	group singleflight.Group

	runs      *lru.Cache[string, runsEntry]           // owner/name@sha → check runs
	userRepos *expirable.LRU[string, map[string]bool] // token digest → readable repositories
	logs      *lru.Cache[string, []gitops.Entry]      // env/app@gitops tip → release log
	artifacts *expirable.LRU[string, []artifactView]  // owner/name → recent artifacts
	heads     *expirable.LRU[string, map[string]int]  // owner/name → open pull request of each head sha
}

func newReader(cfg *Config) *reader {
	runs, _ := lru.New[string, runsEntry](4096) // a positive size cannot fail
	logs, _ := lru.New[string, []gitops.Entry](256)
	return &reader{
		cfg:       cfg,
		runs:      runs,
		logs:      logs,
		userRepos: expirable.NewLRU[string, map[string]bool](1024, nil, userReposTTL),
		artifacts: expirable.NewLRU[string, []artifactView](256, nil, artifactsTTL),
		heads:     expirable.NewLRU[string, map[string]int](256, nil, artifactsTTL),
	}
}

// snapshot returns the environments, refreshing them when they are old: behind the
// view when they are only a little old, before it when they are older, missing or said
// to have changed.
func (rd *reader) snapshot(ctx context.Context) *snapshot {
	rd.mu.Lock()
	cur, stale := rd.snap, rd.stale
	rd.mu.Unlock()
	now := rd.cfg.Now()
	switch {
	case cur != nil && !stale && now.Sub(cur.at) < snapshotTTL:
		return cur
	case cur != nil && !stale && now.Sub(cur.at) < snapshotStale:
		go rd.group.Do("snapshot", func() (any, error) { //nolint:errcheck // refresh records its own errors
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			return rd.refresh(bg), nil
		})
		return cur
	}
	v, _, _ := rd.group.Do("snapshot", func() (any, error) { return rd.refresh(ctx), nil })
	return v.(*snapshot)
}

// refresh reads every environment's gitops snapshot now.
func (rd *reader) refresh(ctx context.Context) *snapshot {
	rd.mu.Lock()
	rd.stale = false
	rd.mu.Unlock()
	s := &snapshot{at: rd.cfg.Now(), envs: make([]envState, len(rd.cfg.Environments))}
	var g errgroup.Group
	for i := range rd.cfg.Environments {
		rules := &rd.cfg.Environments[i]
		g.Go(func() error {
			s.envs[i] = envState{rules: rules}
			if rules.Gitops == nil {
				s.envs[i].err = errors.New("no gitops repository configured")
				return nil
			}
			repo, err := rules.Gitops(ctx)
			if err == nil {
				s.envs[i].EnvSnapshot, err = repo.Snapshot(ctx, gitops.Target{Env: rules.Name, Path: rules.Path})
			}
			if err != nil {
				s.envs[i].err = fmt.Errorf("read the gitops repository of %s: %w", rules.Name, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	rd.mu.Lock()
	rd.snap = s
	rd.mu.Unlock()
	return s
}

// invalidate makes the next view refresh what changed: the environments, and the check
// runs of a commit ("" for none) or of every commit (all).
func (rd *reader) invalidate(repository, sha string, all bool) {
	rd.mu.Lock()
	rd.stale = true
	rd.mu.Unlock()
	switch {
	case all:
		rd.runs.Purge()
		rd.artifacts.Purge()
	case sha != "":
		rd.runs.Remove(strings.ToLower(repository) + "@" + sha)
		rd.artifacts.Remove(strings.ToLower(repository))
	case repository != "":
		rd.artifacts.Remove(strings.ToLower(repository))
	}
}

// checkRuns returns a commit's check runs, from the cache while they are fresh.
func (rd *reader) checkRuns(ctx context.Context, repository, sha string) ([]commands.CheckRun, error) {
	key := strings.ToLower(repository) + "@" + sha
	if e, ok := rd.runs.Get(key); ok {
		age := rd.cfg.Now().Sub(e.at)
		if age < runsTTL || (age < settledRunsTTL && rd.settled(e.runs)) {
			return e.runs, nil
		}
	}
	gh, err := rd.cfg.Installation(ctx, repository)
	if err != nil {
		return nil, err
	}
	repo, err := repoRef(repository)
	if err != nil {
		return nil, err
	}
	runs, err := gh.CheckRuns(ctx, repo, sha)
	if err != nil {
		return nil, err
	}
	rd.runs.Add(key, runsEntry{runs: runs, at: rd.cfg.Now()})
	return runs, nil
}

// settled tells whether every deploy check run of Auger's among runs has completed.
func (rd *reader) settled(runs []commands.CheckRun) bool {
	for _, cr := range runs {
		if rd.cfg.Recorder.Own(cr) && strings.HasPrefix(cr.Name, commands.CheckDeployPrefix) && cr.Status != "completed" {
			return false
		}
	}
	return true
}

// prefetch reads, in parallel, the check runs of the released commits a page shows.
func (rd *reader) prefetch(ctx context.Context, commits map[string]string) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchParallel)
	for key, repository := range commits {
		sha := key[strings.IndexByte(key, '@')+1:]
		g.Go(func() error {
			_, _ = rd.checkRuns(gctx, repository, sha) // a failure shows as "unknown" in its cell
			return nil
		})
	}
	_ = g.Wait()
}

// readable returns the repositories (lower-case full names) the session's person can
// read, as GitHub lists them for their token, reused for userReposTTL.
func (rd *reader) readable(ctx context.Context, s *session) (map[string]bool, error) {
	if repos, ok := rd.userRepos.Get(tokenKey(s)); ok {
		return repos, nil
	}
	return rd.readableNow(ctx, s)
}

// readableNow asks GitHub again, for an action: a person whose token was revoked, or who
// lost access to the repository, must not act on a minute-old answer.
func (rd *reader) readableNow(ctx context.Context, s *session) (map[string]bool, error) {
	key := tokenKey(s)
	names, err := rd.cfg.UserGitHub(s.Token).UserRepositories(ctx)
	if err != nil {
		rd.userRepos.Remove(key)
		return nil, err
	}
	repos := make(map[string]bool, len(names))
	for _, n := range names {
		repos[strings.ToLower(n)] = true
	}
	rd.userRepos.Add(key, repos)
	return repos, nil
}

// tokenKey names a session's token in caches without keeping the token itself.
func tokenKey(s *session) string {
	sum := sha256.Sum256([]byte(s.Token))
	return hex.EncodeToString(sum[:])
}

// releaseLog returns an app's release log, cached for the gitops tip it was read at.
func (rd *reader) releaseLog(ctx context.Context, env *envState, app string) ([]gitops.Entry, error) {
	key := env.rules.Name + "/" + app + "@" + env.Commit
	if log, ok := rd.logs.Get(key); ok {
		return log, nil
	}
	repo, err := env.rules.Gitops(ctx)
	if err != nil {
		return nil, err
	}
	log, err := repo.Log(ctx, gitops.Target{Env: env.rules.Name, Path: env.rules.Path, App: app})
	if err != nil {
		return nil, err
	}
	rd.logs.Add(key, log)
	return log, nil
}

// artifactView is one recent commit of a repository and what Auger recorded for it.
type artifactView struct {
	SHA, Short, Message, Author, URL string
	Time                             time.Time
	// Branch or PR says where the commit is: the default branch, or an open pull request's head.
	Branch string
	PR     int
	// CI is the commit's CI state: passed, running, failed; CIReason why.
	CI, CIReason string
	// Artifact is the recorded artifact's id ("" for none); Invalid is true when its env
	// configs failed to validate.
	Artifact string
	Invalid  bool
	// Envs are the environments the artifact has env configs for.
	Envs []string
}

// recentArtifacts lists a repository's recent commits (its default branch's and its
// open pull requests' heads) with their CI state and artifact.
func (rd *reader) recentArtifacts(ctx context.Context, repository string) ([]artifactView, error) {
	key := strings.ToLower(repository)
	if list, ok := rd.artifacts.Get(key); ok {
		return list, nil
	}
	repo, err := repoRef(repository)
	if err != nil {
		return nil, err
	}
	gh, err := rd.cfg.Installation(ctx, repository)
	if err != nil {
		return nil, err
	}
	var list []artifactView
	prs, err := gh.OpenPullRequests(ctx, repo, 5)
	if err != nil {
		return nil, err
	}
	heads := map[string]int{}
	for _, pr := range prs {
		if pr.HeadRepo != "" && !strings.EqualFold(pr.HeadRepo, repository) {
			continue // a fork's head: its artifact lives in the fork's pull request only
		}
		heads[pr.HeadSHA] = pr.Number
		list = append(list, artifactView{SHA: pr.HeadSHA, Message: pr.Title, Author: pr.Author, URL: pr.HTMLURL, Branch: pr.HeadRef, PR: pr.Number})
	}
	commits, err := gh.RecentCommits(ctx, repo, "", 6)
	if errors.Is(err, commands.ErrNotFound) {
		commits, err = nil, nil // no default branch yet: pull requests only
	}
	if err != nil {
		return nil, err
	}
	for _, c := range commits {
		if _, ok := heads[c.SHA]; ok {
			continue
		}
		subject, _, _ := strings.Cut(c.Message, "\n")
		list = append(list, artifactView{SHA: c.SHA, Message: subject, Author: c.AuthorName, URL: c.HTMLURL, Time: c.Time})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchParallel)
	for i := range list {
		a := &list[i]
		a.Short = short(a.SHA)
		g.Go(func() error {
			runs, err := rd.checkRuns(gctx, repository, a.SHA)
			if err != nil {
				return err
			}
			rd.describeArtifact(a, runs)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rd.artifacts.Add(key, list)
	rd.heads.Add(key, heads)
	return list, nil
}

// describeArtifact fills in a commit's CI state and artifact from its check runs.
func (rd *reader) describeArtifact(a *artifactView, runs []commands.CheckRun) {
	switch outcome, reason := rd.cfg.Recorder.CIState(runs); outcome {
	case "":
		a.CI = "passed"
	case commands.OutcomeWaitingForCI:
		a.CI, a.CIReason = "running", reason
	default:
		a.CI, a.CIReason = "failed", reason
	}
	for _, cr := range runs {
		if !rd.cfg.Recorder.Own(cr) || cr.Name != commands.CheckArtifact {
			continue
		}
		if cr.Conclusion != "success" {
			a.Artifact, a.Invalid = cr.ExternalID, true
			continue
		}
		art, err := commands.ArtifactFromCheckRun(cr)
		if err != nil {
			continue
		}
		a.Artifact, a.Invalid, a.Envs = art.ID, false, nil
		for _, ec := range art.Environments {
			if resolved, err := art.Resolve(ec); err == nil {
				a.Envs = append(a.Envs, resolved.Env)
			}
		}
		sort.Strings(a.Envs)
	}
}

// pullRequestOf returns the open pull request whose head is sha, 0 for none, as the
// repository's recent artifacts last listed them.
func (rd *reader) pullRequestOf(ctx context.Context, repository, sha string) int {
	if _, err := rd.recentArtifacts(ctx, repository); err != nil {
		return 0
	}
	heads, _ := rd.heads.Get(strings.ToLower(repository))
	return heads[sha]
}

func repoRef(fullName string) (commands.RepoRef, error) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return commands.RepoRef{}, fmt.Errorf("%q is not owner/name", fullName)
	}
	return commands.RepoRef{Owner: owner, Name: name}, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
