#!/usr/bin/env bash
# The whole test suite, stage by stage. `make test` runs every stage on both CI
# matrix legs; `tests/setup/run-tests.sh STAGE...` runs some (lint sanity unit
# integration molecule). A stage that collects no test fails: an empty run is a bug.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.tmp/collections
mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry"
ln -sfn "$ROOT" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry/auth"

WORKERS=${CRA_TEST_WORKERS:-4}  # pytest-xdist workers for the integration stage
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint sanity unit integration molecule)

pytest_in() {  # venv, args...
  local venv=$1; shift
  "$venv/bin/python" -m pytest "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then
    echo "ERROR: pytest collected no tests for: $*" >&2
    return 1
  fi
  return $rc
}

run_stage() {
  local stage=$1
  echo "=== stage: $stage"
  case $stage in
    lint)
      # pycodestyle with the rules of ansible-test sanity pep8 (its ignore list, which leaves the formatter's
      # E203/E701/E704 to it)
      .venv/bin/ruff check plugins tests extensions scripts \
        && .venv/bin/ruff format --check plugins tests extensions scripts \
        && .venv/bin/pycodestyle --max-line-length=160 --ignore=E402,W503,W504,E741,E203,E701,E704 \
             plugins tests extensions scripts \
        && .venv/bin/yamllint -s . \
        && .venv/bin/pre-commit validate-config .pre-commit-config.yaml \
        && .venv/bin/vermin -q --no-tips --violations --target=3.8- --exclude tomllib plugins/modules plugins/module_utils \
        && .venv/bin/antsibull-changelog lint \
        && .venv/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml \
        && .venv/bin/ansible-lint --profile production --offline -q \
        && tests/setup/docs-build.sh --lint-only ;;
    sanity)
      # every ansible-core of requires_ansible: 2.19 (.venv), 2.20 (.venv312), 2.21 (.venv313)
      tests/setup/sanity.sh .venv && tests/setup/sanity.sh .venv312 && tests/setup/sanity.sh .venv313 ;;
    unit)
      pytest_in .venv tests/unit -q -p no:cacheprovider -n 2 \
        && pytest_in .venv313 tests/unit -q -p no:cacheprovider -n 2 ;;
    integration)
      # xdist workers: most of a test's time is waiting (ansible forks, servers, the
      # namespace controller); what must not run twice at once is grouped (conftest.py)
      pytest_in .venv tests/integration -q -p no:cacheprovider -n "$WORKERS" --dist loadgroup --durations=15 \
        && pytest_in .venv313 tests/integration -q -p no:cacheprovider -m "matrix" -n "$WORKERS" --dist loadgroup ;;
    molecule)
      tests/setup/molecule.sh ;;
    *) echo "unknown stage $stage" >&2; return 2 ;;
  esac
}

timed_stage() {  # stage -> prints its time; appends it to $failed_file when it fails
  local s=$1 start; start=$(date +%s)
  if run_stage "$s"; then
    echo "=== stage $s passed in $(( $(date +%s) - start ))s"
  else
    echo "=== stage $s FAILED after $(( $(date +%s) - start ))s"
    echo "$s" >>"$failed_file"
  fi
}

suite_start=$(date +%s)
mkdir -p .tmp
failed_file=$(mktemp .tmp/failed-stages.XXXXXX)
static=()   # lint and sanity read files only: they run beside the stages that wait on servers
others=()
for s in "${stages[@]}"; do
  case $s in lint|sanity) static+=("$s") ;; *) others+=("$s") ;; esac
done
bg=
if [ ${#static[@]} -gt 0 ] && [ ${#others[@]} -gt 0 ] && [ "${CRA_TEST_SERIAL:-0}" != 1 ]; then
  static_log=.tmp/stages-$(IFS=-; echo "${static[*]}").log
  echo "=== stages ${static[*]} run in the background (output: $static_log, shown when they end)"
  ( for s in "${static[@]}"; do timed_stage "$s"; done ) >"$static_log" 2>&1 &
  bg=$!
else
  others=("${stages[@]}")
fi
for s in "${others[@]}"; do timed_stage "$s"; done
if [ -n "$bg" ]; then
  wait "$bg"
  echo "=== output of the background stages (${static[*]}):"
  cat "$static_log"
fi
mapfile -t failed <"$failed_file"
rm -f "$failed_file"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]} (suite: $(( $(date +%s) - suite_start ))s)"
  exit 1
fi
echo "all stages passed: ${stages[*]} (suite: $(( $(date +%s) - suite_start ))s)"
