#!/usr/bin/env bash
# Run every benchmark in tests/perf. Each prints ratios against a baseline it
# measures in the same run; none asserts a time. Not part of `make test`.
#   bench_*.py  standalone scripts
#   test_*.py   pytest-style benchmarks (run with -s so the figures print)
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for b in tests/perf/bench_*.py; do
  [ -e "$b" ] || continue
  echo "=== $b"
  .venv/bin/python "$b" "$@" || rc=1
done
tests=(tests/perf/test_*.py)
if [ -e "${tests[0]}" ]; then
  echo "=== pytest ${tests[*]}"
  .venv/bin/python -m pytest -q -s -p no:cacheprovider "${tests[@]}" || rc=1
fi
exit $rc
