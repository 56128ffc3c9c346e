#!/usr/bin/env bash
# Build the execution environment image for real, air-gapped from Galaxy and quay.io:
# `ansible-builder build --container-runtime docker` of a definition derived from the
# shipped execution-environment.yml by tests/setup/ee_context.py (local Debian base
# image from tests/setup/base-image.sh, apt-get, collections from tarballs made by
# `ansible-galaxy collection build`: this repository and the peer collections the
# venv's `ansible` package ships). Needs only PyPI and the Debian mirror.
#
# Cached: the image carries a label with the hash of every input (derived definition,
# requirements/bindep/constraints files, CA bundle, the collections' manifests, the
# base image ID, the ansible-builder version). When an image with the same hash exists,
# nothing is built.
#
# Usage: tests/setup/ee-build.sh [--force] [--no-cache] [--print-name]
#   --force     build even when the label says the image is up to date (Docker's layer cache is used)
#   --no-cache  build every layer again (a cold build; implies --force)
#   EE_IMAGE=<name:tag>        image to build (default cloud-registry-auth/ee:latest)
#   EE_BUILD_CA=<pem file>     CA bundle the build trusts, for TLS-intercepting proxies
#                              (default: $SSL_CERT_FILE, else the system bundle; "none" to skip);
#                              removed from the image's trust store at the end of the build
#   EE_CONSTRAINTS=<file>      pip constraints (default: the CI leg 1 pins; "none" to skip)
#   PYTHON=<python>            venv with ansible-builder + ansible (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

IMAGE=${EE_IMAGE:-cloud-registry-auth/ee:latest}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
CA=${EE_BUILD_CA:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
CONSTRAINTS=${EE_CONSTRAINTS:-$ROOT/tests/setup/constraints-py311.txt}
WORK=$ROOT/.tmp/ee-build
LABEL=io.cloud-registry-auth.ee-inputs

force=0
builder_opts=()
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --no-cache) force=1; builder_opts+=(--no-cache) ;;
    --print-name) echo "$IMAGE"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

[ -x "$PYTHON" ] || { echo "$PYTHON not found: run make venv (or set PYTHON)" >&2; exit 1; }
BIN=$(dirname "$PYTHON")
[ -x "$BIN/ansible-builder" ] || { echo "ansible-builder not found in $BIN: pip install ansible-builder" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "Docker Engine not reachable: run tests/setup/dockerd.sh" >&2; exit 1; }

# one build at a time (both CI legs, or a test and `make ee`, may call this)
mkdir -p "$ROOT/.tmp"
exec 9>"$ROOT/.tmp/ee-build.lock"
flock 9

tests/setup/base-image.sh
BASE=$(tests/setup/base-image.sh --print-name)
BASE_ID=$(docker image inspect -f '{{ .Id }}' "$BASE")

args=(--out "$WORK" --base-image "$BASE" --base-image-id "$BASE_ID")
if [ "$CA" != none ]; then
  [ -f "$CA" ] || { echo "EE_BUILD_CA=$CA: no such file (set it to your proxy's CA bundle, or none)" >&2; exit 1; }
  args+=(--ca-file "$CA")
fi
[ "$CONSTRAINTS" = none ] || args+=(--constraints "$CONSTRAINTS")
rm -rf "$WORK"
info=$("$PYTHON" tests/setup/ee_context.py "${args[@]}")
want=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["inputs"])' "$info")
colls=$("$PYTHON" -c 'import json,sys; print(" ".join(f"{k}:{v}" for k, v in json.loads(sys.argv[1])["collections"].items()))' "$info")

have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$force" = 0 ] && [ "$have" = "$want" ]; then
  echo "EE image $IMAGE is up to date (inputs $want)"
  exit 0
fi

echo "building EE image $IMAGE (inputs $want) on $BASE with $colls ..."
start=$(date +%s)
# --network host: dockerd runs with --bridge=none here; harmless elsewhere.
# The legacy builder and BuildKit both accept --label and --network.
if ! "$BIN/ansible-builder" build \
    -f "$WORK/execution-environment.yml" \
    --context "$WORK/context" \
    --container-runtime docker \
    "${builder_opts[@]}" \
    --tag "$IMAGE" \
    --extra-build-cli-args "--network host --label $LABEL=$want" \
    -v 3 >"$WORK/build.log" 2>&1; then
  tail -n 60 "$WORK/build.log" >&2
  echo "EE build failed; full log: $WORK/build.log" >&2
  exit 1
fi
# Untagged images of EE builds only (the derived definition labels every stage): the
# image this build replaced and the galaxy/builder stage images. The base stage stays
# cached as the new image's parent.
docker image prune -f --filter "label=io.cloud-registry-auth.ee-build" >/dev/null || true
size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
echo "built $IMAGE in $(( $(date +%s) - start ))s, $(( size / 1024 / 1024 )) MiB (inputs $want)"
