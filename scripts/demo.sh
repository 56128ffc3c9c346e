#!/usr/bin/env bash
# cloud_registry.auth demo (`make demo`): a local registry with token auth, an image
# built and pushed on the spot, a local fleet logged in by playbooks/demo.yml, then
# real pulls (docker and skopeo) with the credentials the playbook wrote.
# Needs: docker-registry, skopeo, a running Docker Engine (make deps dockerd), and
# the .venv with ansible on PATH.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
command -v ansible-playbook >/dev/null || { echo "ansible-playbook not on PATH: run 'make demo' (it puts .venv/bin first)" >&2; exit 1; }
for tool in docker skopeo /usr/bin/docker-registry; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run 'make deps dockerd'" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "the Docker Engine does not answer: run 'make dockerd'" >&2; exit 1; }

mkdir -p "$ROOT/.tmp"
WORK=$(mktemp -d "$ROOT/.tmp/demo.XXXXXX")
chmod 700 "$WORK"
REG_PID=
IMAGE=
cleanup() {
  set +e
  [ -n "$IMAGE" ] && docker rmi -f "$IMAGE" >/dev/null 2>&1
  if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
    kill -TERM "$REG_PID"; wait "$REG_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
start=$(date +%s)

step "Starting docker-registry (distribution 2.8) with token auth, TLS from a fresh CA"
"$PY" -c 'import secrets; print("demo-" + secrets.token_urlsafe(16))' > "$WORK/password"
chmod 600 "$WORK/password"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.tmp/collections"
mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry"
ln -sfn "$ROOT" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry/auth"
"$PY" tests/fixtures/registry_env.py --workdir "$WORK/registry" --auth token \
  --user "demo:@$WORK/password" --push demo/hello:1 --trust-docker --info "$WORK/registry.json" \
  >"$WORK/registry.out" 2>&1 &
REG_PID=$!
for _ in $(seq 1 120); do
  [ -s "$WORK/registry.json" ] && break
  kill -0 "$REG_PID" 2>/dev/null || { cat "$WORK/registry.out" >&2; exit 1; }
  sleep 0.25
done
[ -s "$WORK/registry.json" ] || { echo "registry did not start" >&2; cat "$WORK/registry.out" >&2; exit 1; }
info() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/registry.json" "$1"; }
REGISTRY=$(info host); IMAGE=$(info image); CA=$(info ca_path); CERT_DIR=$(info cert_dir); STATS=$(info stats_url)
echo "registry   $REGISTRY  (token realm $(info realm))"
echo "image      $IMAGE  (built here and pushed with skopeo; nothing was pulled from the internet)"

stats() { "$PY" - "$STATS" "$CA" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
print(json.load(urllib.request.urlopen(sys.argv[1], context=ctx))["verifications"])
PYEOF
}

step "Running playbooks/demo.yml against 5 local hosts (forks 5)"
export DEMO_REGISTRY=$REGISTRY DEMO_CA_CERT=$CA DEMO_DIR="$WORK/fleet"
mkdir -p "$DEMO_DIR"
"$PY" - "$WORK/password" "$WORK/vars.json" <<'PYEOF'
import json, os, sys
pw = open(sys.argv[1]).read().strip()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"demo_username": "demo", "demo_password": pw}).encode())
os.close(fd)
PYEOF
before=$(stats)
ANSIBLE_PYTHON_INTERPRETER=$(command -v "$PY") ansible-playbook -i playbooks/demo/inventory.ini playbooks/demo.yml \
  -e "@$WORK/vars.json" --forks 5
after=$(stats)
echo "token service verifications for 5 hosts x 2 tasks: $((after - before)) (one per credential per run)"

step "Second run: nothing to change (idempotent)"
ANSIBLE_PYTHON_INTERPRETER=$(command -v "$PY") ansible-playbook -i playbooks/demo/inventory.ini playbooks/demo.yml \
  -e "@$WORK/vars.json" --forks 5 | tail -n 7

step "docker pull with node1's config.json (Docker Engine, identity token)"
DOCKER_CONFIG="$DEMO_DIR/node1/docker" docker pull "$IMAGE"
step "docker manifest inspect with node2's config.json"
DOCKER_CONFIG="$DEMO_DIR/node2/docker" docker manifest inspect "$IMAGE" | head -n 4
step "skopeo inspect with node3's containers auth.json"
skopeo inspect --authfile "$DEMO_DIR/node3/containers/auth.json" --cert-dir "$CERT_DIR" "docker://$IMAGE" \
  | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("Name:", d["Name"]); print("Digest:", d["Digest"])'
step "Without credentials the registry refuses the same pull"
if DOCKER_CONFIG="$WORK/empty" docker pull -q "$IMAGE" >/dev/null 2>&1; then
  echo "unexpected: anonymous pull worked" >&2; exit 1
else
  echo "refused, as it should be"
fi
step "Done in $(( $(date +%s) - start ))s; stopping the registry and removing $WORK"
