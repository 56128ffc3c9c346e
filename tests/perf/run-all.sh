#!/usr/bin/env bash
# Run every benchmark in tests/perf (each prints ratios against a baseline it
# measures in the same run). Not part of `make test`: benchmarks never gate CI.
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for b in tests/perf/bench_*.py; do
  echo "=== $b"
  .venv/bin/python "$b" "$@" || rc=1
done
exit $rc
