#!/usr/bin/env bash
# Run every benchmark in tests/perf. Each prints ratios against a baseline it
# measures in the same run; none asserts a time. Not part of `make test`.
#   bench_*.py  standalone scripts
#   test_*.py   pytest-style benchmarks (run with -s so the figures print)
# The whole output also goes to a report file (the docs quote figures from one):
#   .tmp/perf-report-<UTC date>-<commit>.txt
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .tmp
report=".tmp/perf-report-$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit).txt"
exec > >(tee "$report") 2>&1
echo "perf report: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse HEAD 2>/dev/null || echo unknown), $(nproc) cores, args: $*"
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
echo "report written to $report"
exit $rc
