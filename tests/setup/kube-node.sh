#!/usr/bin/env bash
# A real Kubernetes node for the cluster of tests/setup/kube-cluster.sh:
#   tests/setup/kube-node.sh start DIR     containerd (CRI) + a kubelet registered as node "crauth-node"
#   tests/setup/kube-node.sh restart DIR   restart the kubelet (it reads its credential providers at start)
#   tests/setup/kube-node.sh restart-containerd DIR   restart containerd (it reads its drop-ins at start)
#   tests/setup/kube-node.sh stop DIR      stop what `start DIR` started
# DIR is the cluster's directory; the node lives in DIR/node and writes DIR/node.env
# with the paths node_auth must write to for this node:
#   NODE_KUBELET_CONFIG_JSON      the kubelet's config.json (in its --root-dir)
#   NODE_CERTS_DIR                containerd's registry config_path (hosts.toml per registry)
#   NODE_CONTAINERD_CONFIG        containerd's config.toml; it imports NODE_CONTAINERD_DROPIN
#   NODE_PROVIDER_CONFIG / NODE_PROVIDER_BIN_DIR   --image-credential-provider-config / -bin-dir
#   NODE_CRI_ENDPOINT             for crictl (--runtime-endpoint)
# The sandbox (pause) image is built here (tests/setup/kube/pause.c, static) and served
# by a local plain-HTTP registry; nothing is pulled from the internet.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|restart|restart-containerd|stop DIR" >&2; exit 2; }
NODE=crauth-node

free_port() {  # below the ephemeral range: nothing else can take it before the daemon binds
  python3 "$here/../support/ports.py" "${1:-1}"
}

stop_one() {
  local pidfile=$node/$1.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop_all() {
  stop_one kubelet
  if [ -S "$node/containerd.sock" ] && [ -n "${KUBE_BIN:-}" ]; then
    # pods' containers (their shims outlive containerd otherwise)
    "$KUBE_BIN/crictl" --runtime-endpoint "unix://$node/containerd.sock" rmp -af >/dev/null 2>&1 || true
  fi
  stop_one containerd
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -address $node/containerd.sock" 2>/dev/null || true
  stop_one sandbox-registry
  # the kubelet's and containerd's mounts below the node directory
  local m
  for m in $(awk -v p="$node/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

wait_for() {  # what seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "kube-node: $what not ready after ${secs}s; last log lines:" >&2
      tail -n 40 "$node"/*.log >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

start_kubelet() {
  # the kubelet refuses a provider config with no provider: the flags come with the first one
  local providers=()
  if grep -q '^[[:space:]]*-[[:space:]]*name:' "$node/image-credential-provider-config.yaml" 2>/dev/null; then
    providers=(--image-credential-provider-config "$node/image-credential-provider-config.yaml"
               --image-credential-provider-bin-dir "$node/credential-provider-bin")
  fi
  "$KUBE_BIN/kubelet" \
    --config "$node/kubelet-config.yaml" \
    --kubeconfig "$node/kubelet.kubeconfig" \
    --root-dir "$node/kubelet" \
    --container-runtime-endpoint "unix://$node/containerd.sock" \
    --hostname-override "$NODE" --node-ip 127.0.0.1 \
    "${providers[@]}" \
    --v=2 >>"$node/kubelet.log" 2>&1 &
  echo $! >"$node/kubelet.pid"
  wait_for "node $NODE Ready" 120 sh -c \
    "kubectl --kubeconfig '$dir/admin.kubeconfig' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
}

start_containerd() {
  containerd --config "$node/containerd.toml" >>"$node/containerd.log" 2>&1 &
  echo $! >"$node/containerd.pid"
  wait_for containerd 30 "$KUBE_BIN/crictl" --runtime-endpoint "unix://$node/containerd.sock" version
}

start() {
  local started=$(date +%s)
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  stop_all
  mkdir -p "$node"/{kubelet,containerd,certs.d,conf.d,cni,credential-provider-bin,sandbox-registry}
  : >"$node/conf.d/cloud-registry-auth.toml"

  # the sandbox image, served by a plain-HTTP registry on loopback
  local reg_port; reg_port=$(free_port)
  cat >"$node/sandbox-registry/config.yml" <<RC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $node/sandbox-registry/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$reg_port}
RC
  docker-registry serve "$node/sandbox-registry/config.yml" >"$node/sandbox-registry.log" 2>&1 &
  echo $! >"$node/sandbox-registry.pid"
  wait_for "sandbox registry" 30 curl -sf "http://127.0.0.1:$reg_port/v2/"
  SANDBOX_IMAGE=127.0.0.1:$reg_port/pause:3.10
  PYTHONPATH=$root/tests/fixtures python3 - "$node/pause-layout" <<'PY'
import sys
from oci_image import build_oci_layout, runnable_image_files
build_oci_layout(sys.argv[1], tag="3.10", files=runnable_image_files(), cmd=["/pause"])
PY
  skopeo copy --quiet --dest-tls-verify=false "oci:$node/pause-layout:3.10" "docker://$SANDBOX_IMAGE"
  mkdir -p "$node/certs.d/127.0.0.1:$reg_port"
  printf 'server = "http://127.0.0.1:%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$reg_port" "$reg_port" >"$node/certs.d/127.0.0.1:$reg_port/hosts.toml"

  cat >"$node/containerd.toml" <<CT
version = 2
root = "$node/containerd/root"
state = "$node/containerd/state"
imports = ["$node/conf.d/*.toml"]
[grpc]
  address = "$node/containerd.sock"
[ttrpc]
  address = "$node/containerd.sock.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  enable_cdi = false
  # this sandbox denies lowering oom_score_adj (no CAP_SYS_RESOURCE): clamp like rootless
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$node/certs.d"
CT
  cat >"$node/cni/10-loopback.conflist" <<'CNI'
{"cniVersion": "0.4.0", "name": "crauth-loopback", "plugins": [{"type": "loopback"}]}
CNI
  start_containerd

  # the kubelet: a client certificate for system:node:$NODE, a serving certificate
  local pki=$dir/pki
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/kubelet.key" -subj "/O=system:nodes/CN=system:node:$NODE" \
    -out "$pki/kubelet.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:%s\n' "$NODE" \
    >"$pki/kubelet.ext"
  openssl x509 -req -in "$pki/kubelet.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -sha256 -extfile "$pki/kubelet.ext" -out "$pki/kubelet.crt" 2>/dev/null
  rm -f "$pki/kubelet.csr" "$pki/kubelet.ext"
  cat >"$node/kubelet.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$KUBE_URL", certificate-authority: "$pki/ca.crt"}}]
users: [{name: kubelet, user: {client-certificate: "$pki/kubelet.crt", client-key: "$pki/kubelet.key"}}]
contexts: [{name: kubelet, context: {cluster: local, user: kubelet}}]
current-context: kubelet
KC
  local kport hport; read -r kport hport < <(free_port 2)
  cat >"$node/kubelet-config.yaml" <<KY
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kport
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $hport
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "0%", imagefs.available: "0%"}
registerNode: true
maxPods: 50
KY
  : >"$node/kubelet.log"
  start_kubelet

  cat >"$dir/node.env" <<ENV
NODE_NAME=$NODE
NODE_DIR=$node
NODE_KUBELET_CONFIG_JSON=$node/kubelet/config.json
NODE_CERTS_DIR=$node/certs.d
NODE_CONTAINERD_CONFIG=$node/containerd.toml
NODE_CONTAINERD_DROPIN=$node/conf.d/cloud-registry-auth.toml
NODE_PROVIDER_CONFIG=$node/image-credential-provider-config.yaml
NODE_PROVIDER_BIN_DIR=$node/credential-provider-bin
NODE_CRI_ENDPOINT=unix://$node/containerd.sock
NODE_SANDBOX_IMAGE=$SANDBOX_IMAGE
ENV
  echo "kube-node: $NODE Ready in $(( $(date +%s) - started ))s" >&2
}

[ -d "$dir" ] || { echo "kube-node: $dir does not exist: run kube-cluster.sh start $dir first" >&2; exit 2; }
dir=$(cd "$dir" && pwd); node=$dir/node
case $cmd in
  start) start ;;
  restart)
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    stop_one kubelet
    start_kubelet ;;
  restart-containerd)
    # it reads its config (and the imported drop-ins) only at start; pods keep running (shims)
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    stop_one containerd
    start_containerd ;;
  stop)
    # shellcheck disable=SC1091
    [ -f "$dir/cluster.env" ] && . "$dir/cluster.env"
    [ -d "$node" ] && stop_all
    exit 0 ;;
  *) echo "usage: $0 start|restart|restart-containerd|stop DIR" >&2; exit 2 ;;
esac
