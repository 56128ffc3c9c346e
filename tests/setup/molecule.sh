#!/usr/bin/env bash
# Run every Molecule scenario in extensions/molecule/ (or those named as arguments)
# against containers from the local base image, with a real registry on 127.0.0.1
# (Debian's docker-registry, htpasswd + TLS, an image pushed on the spot) that this
# script starts and always stops. Called by `tests/setup/run-tests.sh molecule`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.tmp/collections
mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry"
ln -sfn "$ROOT" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry/auth"

tests/setup/dockerd.sh
tests/setup/base-image.sh
export CRA_BASE_IMAGE
CRA_BASE_IMAGE=$(tests/setup/base-image.sh --print-name)

work=$(mktemp -d "${TMPDIR:-/tmp}/cra-molecule.XXXXXX")
reg_pid=
cleanup() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export CRA_REGISTRY_USER=fleet
CRA_REGISTRY_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export CRA_REGISTRY_PASSWORD
printf '%s' "$CRA_REGISTRY_PASSWORD" >"$work/pw" && chmod 600 "$work/pw"
"$VENV/bin/python" tests/fixtures/registry_env.py --workdir "$work/registry" --auth htpasswd \
  --user "$CRA_REGISTRY_USER:@$work/pw" --push demo/tiny:1 --info "$work/registry.json" &
reg_pid=$!
for _ in $(seq 1 120); do
  [ -s "$work/registry.json" ] && break
  kill -0 "$reg_pid" 2>/dev/null || { echo "registry failed to start" >&2; exit 1; }
  sleep 0.5
done
[ -s "$work/registry.json" ] || { echo "registry did not come up in 60s" >&2; exit 1; }
eval "$("$VENV/bin/python" - "$work/registry.json" <<'PY'
import json, shlex, sys
info = json.load(open(sys.argv[1]))
print("export CRA_REGISTRY_HOST=%s" % shlex.quote(info["host"]))
print("export CRA_REGISTRY_CA=%s" % shlex.quote(info["ca_path"]))
print("export CRA_REGISTRY_IMAGE=demo/tiny:1")
PY
)"
echo "registry $CRA_REGISTRY_HOST (ca $CRA_REGISTRY_CA)"

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for d in extensions/molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$d")")"); done
fi
failed=()
for s in "${scenarios[@]}"; do
  start=$(date +%s)
  echo "=== molecule scenario: $s"
  if molecule test -s "$s"; then
    echo "=== scenario $s passed in $(( $(date +%s) - start ))s"
  else
    echo "=== scenario $s FAILED after $(( $(date +%s) - start ))s"
    failed+=("$s")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED molecule scenarios: ${failed[*]}"
  exit 1
fi
echo "${#scenarios[@]} passed, 0 failed"
