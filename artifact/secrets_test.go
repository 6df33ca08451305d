package artifact_test

import (
	"reflect"
	"testing"

	"github.com/auger-dev/auger/artifact"
)

func TestIsSecretName(t *testing.T) {
	secret := []string{
		"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_JOB_JWT_V2",
		"AWS_SECRET_ACCESS_KEY", "NPM_AUTH", "api_key", "DB_Passwd", "SSH_PRIVATE_KEY", "SESSION_ID",
		"COOKIE_JAR", "TLS_CERT", "WEBHOOK_SIGNATURE", "SENTRY_DSN", "CONNECTION_STRING", "DATABASE_URL",
		"CIRCLE_OIDC_TOKEN", "DOCKER_AUTH_CONFIG", "HTTP_AUTHORIZATION", "GCP_CREDENTIALS", "KUBECONFIG",
	}
	plain := []string{
		"CI", "GITHUB_SHA", "GITHUB_REF", "CIRCLE_BUILD_NUM", "CI_COMMIT_AUTHOR", "GITLAB_USER_NAME",
		"CI_PIPELINE_ID", "CIRCLE_PROJECT_REPONAME", "GITHUB_REPOSITORY", "NODE_ENV",
	}
	for _, name := range secret {
		if !artifact.IsSecretName(name) {
			t.Errorf("IsSecretName(%q) = false, want true", name)
		}
	}
	for _, name := range plain {
		if artifact.IsSecretName(name) {
			t.Errorf("IsSecretName(%q) = true, want false", name)
		}
	}
}

func TestRedactContext(t *testing.T) {
	kept, dropped := artifact.RedactContext(map[string]string{
		"CI":                   "true",
		"GITHUB_SHA":           "abc",
		"GITHUB_TOKEN":         "ghs_xxx",
		"CI_REGISTRY_PASSWORD": "hunter2",
		"CI_REPOSITORY_URL":    "https://gitlab-ci-token:glcbt-64_abc@gitlab.com/o/r.git",
		"SOME_VAR":             "ghp_0123456789abcdefghijABCDEFGHIJ012345",
		"DEPLOY_NOTE":          "-----BEGIN OPENSSH PRIVATE KEY-----\nabc",
		"HOMEPAGE":             "https://example.com/docs",
	})
	wantKept := map[string]string{"CI": "true", "GITHUB_SHA": "abc", "HOMEPAGE": "https://example.com/docs"}
	wantDropped := []string{"CI_REGISTRY_PASSWORD", "CI_REPOSITORY_URL", "DEPLOY_NOTE", "GITHUB_TOKEN", "SOME_VAR"}
	if !reflect.DeepEqual(kept, wantKept) {
		t.Errorf("kept = %v, want %v", kept, wantKept)
	}
	if !reflect.DeepEqual(dropped, wantDropped) {
		t.Errorf("dropped = %v, want %v", dropped, wantDropped)
	}

	kept, dropped = artifact.RedactContext(nil)
	if kept == nil || len(kept) != 0 || dropped != nil {
		t.Errorf("RedactContext(nil) = %v, %v", kept, dropped)
	}
}
