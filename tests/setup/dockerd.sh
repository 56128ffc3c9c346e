#!/usr/bin/env bash
# Start the Docker Engine the way this workplace allows (no bridge, no iptables),
# once. Safe to call again: an answering daemon is left alone.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd not found: run tests/setup/system-deps.sh (installs Debian's docker.io)" >&2
  exit 1
fi
mkdir -p /var/log
nohup dockerd --bridge=none --iptables=false --ip6tables=false \
  >/var/log/cloud-registry-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not answer within 30s; see /var/log/cloud-registry-dockerd.log" >&2
tail -n 30 /var/log/cloud-registry-dockerd.log >&2 || true
exit 1
