#!/usr/bin/env bash
# Re-vendors GitHub's REST description and webhook payload examples into
# internal/githubfake/testdata. Needs npm (registry access) and Go. The versions are pinned:
# bump them here, re-run, and review the diff of the committed output.
set -euo pipefail
cd "$(dirname "$0")/../.."

openapi_pkg=@octokit/openapi@23.0.2
webhooks_pkg=@octokit/webhooks-examples@7.6.1
out=internal/githubfake/testdata

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for pkg in "$openapi_pkg" "$webhooks_pkg"; do
  name=${pkg%@*}; name=${name#@}; name=${name//\//-}
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  mkdir -p "$tmp/$name"
  tar -xzf "$tmp/$name-${pkg##*@}.tgz" -C "$tmp/$name"
done

rm -f "$out"/webhooks/*.json
go run ./scripts/vendor-github \
  -in "$tmp/octokit-openapi/package/generated/api.github.com.json" \
  -out "$out/openapi.json" \
  -from "$openapi_pkg" \
  -webhooks-in "$tmp/octokit-webhooks-examples/package/api.github.com/index.json" \
  -webhooks-out "$out/webhooks" \
  -webhooks-from "$webhooks_pkg"
ls -l "$out/openapi.json" "$out/webhooks"
