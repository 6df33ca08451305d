#!/usr/bin/env bash
# Installs the auger CLI for the GitHub Action (action.yml), built from the action's own
# source: GitHub checks the action out at exactly the ref the workflow names
# (auger-dev/auger@v1), so the binary is that version by construction, with no release
# download to trust or keep in step. See docs/ci.md for why.
#
# Reads:  GITHUB_ACTION_PATH (the action's checkout), RUNNER_TEMP, GITHUB_PATH,
#         GITHUB_OUTPUT, AUGER_ACTION_REF (github.action_ref), AUGER_BIN (a prebuilt
#         auger to use instead; optional).
# Writes: the binary's folder to $GITHUB_PATH, "path=<binary>" to $GITHUB_OUTPUT.
set -euo pipefail

: "${GITHUB_ACTION_PATH:?not set: run this from action.yml}"
: "${RUNNER_TEMP:?not set: run this from action.yml}"

if [[ -n "${AUGER_BIN:-}" ]]; then
  if [[ ! -x "$AUGER_BIN" ]]; then
    echo "::error title=auger::auger-binary: $AUGER_BIN is not an executable file" >&2
    exit 1
  fi
  bin="$AUGER_BIN"
else
  if ! command -v go >/dev/null; then
    echo "::error title=auger::Go is not installed: the action builds auger from its source (actions/setup-go runs first unless auger-binary is given)" >&2
    exit 1
  fi
  dir="$RUNNER_TEMP/auger-bin"
  mkdir -p "$dir"
  bin="$dir/auger"
  version="${AUGER_ACTION_REF:-}"
  ldflags="-s -w"
  if [[ -n "$version" ]]; then
    ldflags+=" -X github.com/auger-dev/auger/app.Version=$version"
  fi
  # -buildvcs=auto: the commit goes into the build info when the checkout has git metadata.
  (cd "$GITHUB_ACTION_PATH" && go build -buildvcs=auto -ldflags "$ldflags" -o "$bin" .)
fi

"$bin" version
if [[ -n "${GITHUB_PATH:-}" ]]; then
  dirname "$bin" >>"$GITHUB_PATH"
fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  echo "path=$bin" >>"$GITHUB_OUTPUT"
fi
