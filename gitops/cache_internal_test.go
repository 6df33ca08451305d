package gitops

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/auger-dev/auger/internal/gitserver"
)

// A shallow clone that piled up packs is dropped and fetched again from cold, and
// writes go on.
func TestShallowCloneWithTooManyPacksStartsOver(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.Start(t)
	srv.Create(t, "gitops")
	other, err := Open(Remote{URL: srv.AuthURL("gitops")}, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := Open(Remote{URL: srv.AuthURL("gitops")}, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	repo.maxPacks = 4
	packs := func() int {
		m, _ := filepath.Glob(filepath.Join(repo.dir, "objects", "pack", "*.pack"))
		return len(m)
	}
	rel := func(app string, n int) Release {
		return Release{Target: Target{Env: "staging", App: app}, Artifact: fmt.Sprint("a-", n),
			Files: map[string][]byte{"cm.yaml": []byte(fmt.Sprintf("kind: ConfigMap\n# %d\n", n))}}
	}
	most, dropped := 0, false
	for i := 0; i < 6; i++ {
		if _, err := other.Release(ctx, rel("web", i)); err != nil {
			t.Fatal(err)
		}
		res, err := repo.Release(ctx, rel("api", i))
		if err != nil || !res.Changed {
			t.Fatalf("release %d: %+v %v", i, res, err)
		}
		n := packs()
		dropped = dropped || n < most
		most = max(most, n)
	}
	if !dropped {
		t.Error("the clone was never dropped")
	}
	if most > repo.maxPacks+2 {
		t.Errorf("the clone held %d packs, bound %d (+2 of one write)", most, repo.maxPacks)
	}
	log, err := repo.Log(ctx, Target{Env: "staging", App: "api"})
	if err != nil || len(log) != 6 {
		t.Errorf("log after starting over: %d entries, %v", len(log), err)
	}
}
