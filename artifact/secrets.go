package artifact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// secretNameParts are the words that make a variable name look like it holds a secret.
// The list errs on the side of dropping: a lost CI variable costs a template variable,
// a leaked one costs a credential, and artifacts are readable by anyone who can read
// the repository's checks.
var secretNameParts = []string{
	"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD", "KEY", "CREDENTIAL", "CRED",
	"PRIVATE", "AUTH", "SESSION", "COOKIE", "CERT", "SIGNATURE", "SIGNING", "DSN",
	"CONNECTION_STRING", "CONN_STR", "DATABASE_URL", "JWT", "BEARER", "SALT", "NETRC",
	"KUBECONFIG",
}

// IsSecretName reports whether an environment or context variable name looks like it
// holds a secret (GITHUB_TOKEN, CI_REGISTRY_PASSWORD, NPM_AUTH, AWS_SECRET_ACCESS_KEY).
// The match is a case-insensitive substring match, except that "AUTHOR" (as in
// CI_COMMIT_AUTHOR) does not count as "AUTH".
func IsSecretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, part := range secretNameParts {
		if part == "AUTH" {
			if containsAuth(upper) {
				return true
			}
			continue
		}
		if strings.Contains(upper, part) {
			return true
		}
	}
	return false
}

// containsAuth finds AUTH that is not merely the start of AUTHOR; AUTHORIZATION and
// AUTHORISATION are secrets again.
func containsAuth(upper string) bool {
	for rest := upper; ; {
		i := strings.Index(rest, "AUTH")
		if i < 0 {
			return false
		}
		rest = rest[i:]
		if !strings.HasPrefix(rest, "AUTHOR") || strings.HasPrefix(rest, "AUTHORIZ") || strings.HasPrefix(rest, "AUTHORIS") {
			return true
		}
		rest = rest[len("AUTHOR"):]
	}
}

// secretValuePattern matches values that are credentials whatever their variable is
// called: well-known token prefixes and PEM blocks.
var secretValuePattern = regexp.MustCompile(`^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk_live_[A-Za-z0-9]{10,})|-----BEGIN [A-Z ]*PRIVATE KEY-----`)

// looksLikeSecretValue reports values that carry a credential: a known token format,
// a private key, or a URL with a password in it (GitLab's CI_REPOSITORY_URL embeds the
// job token that way).
func looksLikeSecretValue(value string) bool {
	if secretValuePattern.MatchString(value) {
		return true
	}
	if strings.Contains(value, "://") {
		if u, err := url.Parse(strings.TrimSpace(value)); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				return true
			}
		}
	}
	return false
}

// RedactContext splits CI variables into those an artifact may carry and the names of
// those it must not (by name, see IsSecretName, or because the value is a credential).
// dropped is sorted; values of dropped variables are never returned.
func RedactContext(ctx map[string]string) (kept map[string]string, dropped []string) {
	kept = make(map[string]string, len(ctx))
	for name, value := range ctx {
		if IsSecretName(name) || looksLikeSecretValue(value) {
			dropped = append(dropped, name)
			continue
		}
		kept[name] = value
	}
	slices.Sort(dropped)
	return kept, dropped
}
