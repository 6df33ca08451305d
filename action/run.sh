#!/usr/bin/env bash
# Records a release artifact from a GitHub Actions job (action.yml): auger artifact create,
# add, then push, which uploads it as the check run "Auger: artifact upload" on the commit;
# the Auger server records "Auger: artifact" from it once CI passes.
#
# Inputs come as variables, never spliced into the script (a branch name or a variable's
# value cannot inject commands):
#   INPUT_ENV_DIR    folder of env configs (default .auger; skipped when missing)
#   INPUT_ENV_FILES  env config files, one per line
#   INPUT_VARS       context variables NAME=value, one per line
#   INPUT_ITEMS      links name=url, one per line
#   INPUT_PUSH       "true" (default) uploads the artifact; "false" only writes the file
#   INPUT_ARTIFACT   where the artifact file goes (default $RUNNER_TEMP/auger-artifact.json)
#   GITHUB_TOKEN     token with checks: write, for the push
# plus what the runner sets (GITHUB_SHA, GITHUB_REPOSITORY, GITHUB_REF, GITHUB_RUN_ID, ...),
# which `auger artifact create` reads. Writes artifact-id and artifact-file to $GITHUB_OUTPUT.
set -euo pipefail

auger="${AUGER:-auger}"
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

# run_auger runs auger; a failure also becomes a workflow error annotation (shown on the
# run's summary, not only in its log), with auger's one-line reason.
run_auger() {
  if "$auger" "$@" 2>"$errors"; then
    cat "$errors" >&2
    return 0
  fi
  cat "$errors" >&2
  local reason
  reason="$(tail -n 1 "$errors")"
  reason="${reason//'%'/'%25'}"
  echo "::error title=auger $1 ${2:-}::${reason:-auger failed}"
  exit 1
}

file="${INPUT_ARTIFACT:-${RUNNER_TEMP:-.}/auger-artifact.json}"
env_dir="${INPUT_ENV_DIR-.auger}"
push="${INPUT_PUSH:-true}"
if [[ "$push" != true && "$push" != false ]]; then
  echo "::error title=auger::input push: want true or false, got \"$push\"" >&2
  exit 1
fi

run_auger artifact create --out "$file"

add=(artifact add --artifact "$file")
if [[ -n "$env_dir" && -d "$env_dir" ]]; then
  add+=(--env-dir "$env_dir")
fi
while IFS= read -r line; do
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  [[ -n "$line" ]] && add+=(--env-file "$line")
done <<<"${INPUT_ENV_FILES:-}"
while IFS= read -r line; do
  line="${line#"${line%%[![:space:]]*}"}"
  [[ -n "$line" ]] && add+=(--var "$line")
done <<<"${INPUT_VARS:-}"
while IFS= read -r line; do
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  [[ -n "$line" ]] && add+=(--item "$line")
done <<<"${INPUT_ITEMS:-}"
run_auger "${add[@]}"

id="$("$auger" artifact id --artifact "$file")"

if [[ "$push" == true ]]; then
  run_auger artifact push --artifact "$file"
else
  echo "push: false; the artifact is in $file"
fi

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    echo "artifact-id=$id"
    echo "artifact-file=$file"
  } >>"$GITHUB_OUTPUT"
fi
