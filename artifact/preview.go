package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PreviewApp names the preview of app for a branch: "<app>-<branch>" made a DNS-1123
// label (lower case, anything else than letters, digits and '-' replaced, runs of '-'
// folded). A name longer than 63 characters is cut and given a short hash of the whole
// name, so it stays unique and is the same every time for the same branch.
func PreviewApp(app, branch string) string {
	full := strings.Trim(foldDashes(dnsChars(app+"-"+branch)), "-")
	if len(full) <= 63 {
		return full
	}
	sum := sha256.Sum256([]byte(app + "\x00" + branch))
	return strings.TrimRight(full[:63-7], "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

func foldDashes(s string) string {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return s
}

// CleanupApp is the app an env config's cleanup policy deletes: its cleanup.app
// template rendered with the artifact's variables, APP being the resolved (preview) name.
func (a *Artifact) CleanupApp(ec EnvConfig) (string, error) {
	if ec.Cleanup == nil {
		return "", nil
	}
	resolved, err := a.Resolve(ec)
	if err != nil {
		return "", err
	}
	vars := a.Vars(ec)
	vars["APP"], vars["ENV"] = resolved.App, resolved.Env
	var ps problems
	app := newRenderer().render(fieldPath{}.key("cleanup").key("app"), ec.Cleanup.App, vars, &ps)
	if len(ps) > 0 {
		return "", asError(ps.inFile(ec.File))
	}
	if msg := DNSLabelProblem(app); msg != "" {
		return "", asError([]Problem{{File: ec.File, Path: "cleanup.app", Message: msg}})
	}
	return app, nil
}
