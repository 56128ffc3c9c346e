#!/usr/bin/env bash
# Run every benchmark in tests/perf. Each prints ratios against a baseline it
# measures in the same run; none asserts a time. Not part of `make test`.
#   bench_*.py  standalone scripts
#   test_*.py   pytest-style benchmarks (run with -s so the figures print)
# The whole output also goes to a report file (the docs quote figures from one):
#   $PERF_REPORT_DIR/perf-report-<UTC date>-<commit>.txt (default .tmp; the report the
#   docs quote is kept in tests/perf/reports/, see docs/docsite/rst/performance.rst)
# Usage: tests/perf/run-all.sh [args every bench gets, e.g. --sizes 10,100 --repeats 3]
#   PERF_ONLY="bench_registry_login bench_stand_ins pytest": only those (names without .py;
#   "pytest" for the test_*.py ones); the report prints the selection.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${PERF_REPORT_DIR:-.tmp}
mkdir -p "$dir"
report="$dir/perf-report-$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit).txt"
exec > >(tee "$report") 2>&1
echo "perf report: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse HEAD 2>/dev/null || echo unknown), $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg)"
echo "command: ${PERF_ONLY:+PERF_ONLY=\"$PERF_ONLY\" }tests/perf/run-all.sh $*"
selected() { [ -z "${PERF_ONLY:-}" ] || [[ " $PERF_ONLY " == *" $1 "* ]]; }
rc=0
for b in tests/perf/bench_*.py; do
  [ -e "$b" ] || continue
  selected "$(basename "$b" .py)" || continue
  echo "=== $b"
  start=$(date +%s)
  .venv/bin/python "$b" "$@" || rc=1
  echo "=== $b took $(( $(date +%s) - start ))s"
done
tests=(tests/perf/test_*.py)
if [ -e "${tests[0]}" ] && selected pytest; then
  echo "=== pytest ${tests[*]}"
  .venv/bin/python -m pytest -q -s -p no:cacheprovider "${tests[@]}" || rc=1
fi
echo "report written to $report"
exit $rc
