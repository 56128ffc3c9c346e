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
failed=()

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
      .venv/bin/ruff check plugins tests extensions scripts \
        && .venv/bin/yamllint -s . \
        && .venv/bin/ansible-lint --profile production --offline -q ;;
    sanity)
      tests/setup/sanity.sh .venv && tests/setup/sanity.sh .venv313 ;;
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

suite_start=$(date +%s)
for s in "${stages[@]}"; do
  start=$(date +%s)
  if run_stage "$s"; then
    echo "=== stage $s passed in $(( $(date +%s) - start ))s"
  else
    echo "=== stage $s FAILED after $(( $(date +%s) - start ))s"
    failed+=("$s")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]} (suite: $(( $(date +%s) - suite_start ))s)"
  exit 1
fi
echo "all stages passed: ${stages[*]} (suite: $(( $(date +%s) - suite_start ))s)"
