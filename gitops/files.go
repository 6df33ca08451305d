package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Objects returns the rendered objects an app's folder holds at the tip of the branch,
// by file name, without Auger's own files (release.json, kustomization.yaml): what a
// release of the app would be compared with. An app that was never released has none.
func (r *Repo) Objects(ctx context.Context, t Target) (map[string][]byte, error) {
	parts, err := t.folder()
	if err != nil {
		return nil, err
	}
	var files map[string][]byte
	err = r.session(ctx, func(st *state) error {
		folder, mode, err := subtree(st.s, st.root, parts)
		if err != nil {
			return err
		}
		if mode != filemode.Dir {
			folder = plumbing.ZeroHash
		}
		files, err = readFiles(st.s, folder)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", t.Env, t.App, err)
	}
	delete(files, RecordFile)
	delete(files, KustomizationFile)
	return files, nil
}
