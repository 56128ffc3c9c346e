#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 for the tests:
#   tests/setup/kube-cluster.sh start DIR   etcd + kube-apiserver + kube-controller-manager
#   tests/setup/kube-cluster.sh restart-apiserver DIR   the API server stopped and started again
#   tests/setup/kube-cluster.sh stop DIR    stop everything `start DIR` started
# start picks free ports, generates a CA and every certificate into DIR/pki, starts the
# API server with TLS, RBAC + Node authorization, a service-account issuer and keys,
# the default admission plugins and an audit log (DIR/audit.log, Metadata level), waits
# until /readyz is ok and the `default` ServiceAccount exists in `default`, and writes
# DIR/admin.kubeconfig and DIR/cluster.env (KUBE_URL, ports, paths).
# Binaries come from tests/setup/kube-build.sh (built once, cached).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

free_port() {  # below the ephemeral range: nothing else can take it before the daemon binds
  python3 "$here/../support/ports.py" "${1:-1}"
}

stop_all() {
  local pidfile pid
  for name in kube-controller-manager kube-apiserver etcd; do
    pidfile=$dir/$name.pid
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

# openssl helpers: a CA, then leaf certificates signed by it.
cert() {  # name subject [SANs] [client|server]
  local name=$1 subj=$2 sans=${3:-} usage=${4:-client}
  local ext=$dir/pki/$name.ext
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$usage" = server ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/pki/$name.key" -subj "$subj" \
    -out "$dir/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/pki/$name.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$ext" -out "$dir/pki/$name.crt" 2>/dev/null
  rm -f "$dir/pki/$name.csr" "$ext"
  chmod 600 "$dir/pki/$name.key"
}

kubeconfig() {  # file user certname
  local file=$1 user=$2 name=$3
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $KUBE_URL
    certificate-authority: $dir/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/pki/$name.crt
    client-key: $dir/pki/$name.key
contexts:
- name: $user@local
  context: {cluster: local, user: $user}
current-context: $user@local
KC
  chmod 600 "$file"
}

wait_for() {  # what seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "kube-cluster: $what not ready after ${secs}s; last log lines:" >&2
      tail -n 30 "$dir"/*.log >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

start_apiserver() {  # uses dir bin ETCD_PORT API_PORT KUBE_URL
  "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --tls-sni-cert-key "$dir/pki/sni.crt,$dir/pki/sni.key:api.cluster.internal" \
    --client-ca-file "$dir/pki/ca.crt" \
    --kubelet-client-certificate "$dir/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$dir/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$dir/pki/ca.crt" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/pki/sa.pub" \
    --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
    --allow-privileged=true \
    --audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" \
    --audit-log-mode blocking --audit-log-maxbackup 1 --audit-log-maxsize 200 \
    `# namespaces served from etcd, not the watch cache: a watch from a compacted resourceVersion gets the real 410 Gone (the k8s_watch re-list test)` \
    --watch-cache-sizes namespaces#0 \
    --profiling=false --v=1 >"$dir/kube-apiserver.log" 2>&1 &
  echo $! >"$dir/kube-apiserver.pid"
  wait_for kube-apiserver 90 curl -sf --cacert "$dir/pki/ca.crt" \
    --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$KUBE_URL/readyz"
}

start() {
  local started=$(date +%s)
  bin=$("$here/kube-build.sh")
  mkdir -p "$dir/pki" "$dir/etcd"
  dir=$(cd "$dir" && pwd)
  stop_all
  read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT < <(free_port 4)
  KUBE_URL=https://127.0.0.1:$API_PORT

  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=cloud-registry-auth-kube-ca" \
    -keyout "$dir/pki/ca.key" -out "$dir/pki/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:::1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" server
  cert admin "/O=system:masters/CN=kubernetes-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  # a second serving certificate, chosen by SNI only, of a CA of its own (tls-server-name tests)
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=cloud-registry-auth-sni-ca" \
    -keyout "$dir/pki/sni-ca.key" -out "$dir/pki/sni-ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/pki/sni.key" -subj "/CN=api.cluster.internal" \
    -out "$dir/pki/sni.csr" 2>/dev/null
  printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:api.cluster.internal\n' >"$dir/pki/sni.ext"
  openssl x509 -req -in "$dir/pki/sni.csr" -CA "$dir/pki/sni-ca.crt" -CAkey "$dir/pki/sni-ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/pki/sni.ext" -out "$dir/pki/sni.crt" 2>/dev/null
  rm -f "$dir/pki/sni.csr" "$dir/pki/sni.ext"
  openssl genrsa -out "$dir/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/pki/sa.key" -pubout -out "$dir/pki/sa.pub" 2>/dev/null
  cat >"$dir/audit-policy.yaml" <<'AP'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/openapi*", "/api", "/apis", "/api/*", "/apis/*"]
- level: None
  resources: [{group: "coordination.k8s.io", resources: ["leases"]}, {group: "", resources: ["events"]}]
- level: Metadata
AP

  "$bin/etcd" --name test --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "test=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync \
    --log-level warn >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  start_apiserver

  kubeconfig "$dir/admin.kubeconfig" kubernetes-admin admin
  kubeconfig "$dir/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  "$bin/kube-controller-manager" \
    --kubeconfig "$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
    --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key" \
    --use-service-account-credentials --leader-elect=false \
    --controllers '*,-bootstrapsigner,-tokencleaner' \
    --concurrent-namespace-syncs 10 --v=1 >"$dir/kube-controller-manager.log" 2>&1 &
  echo $! >"$dir/kube-controller-manager.pid"
  wait_for "the default ServiceAccount" 90 kubectl --kubeconfig "$dir/admin.kubeconfig" \
    get serviceaccount default -n default

  cat >"$dir/cluster.env" <<ENV
KUBE_URL=$KUBE_URL
KUBE_API_PORT=$API_PORT
KUBE_ETCD_PORT=$ETCD_PORT
KUBE_BIN=$bin
KUBE_DIR=$dir
ENV
  echo "kube-cluster: ready at $KUBE_URL in $(( $(date +%s) - started ))s (admin: $dir/admin.kubeconfig)" >&2
}

restart_apiserver() {  # the same API server (port, flags, etcd data) stopped and started again
  dir=$(cd "$dir" && pwd)
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  bin=$KUBE_BIN; ETCD_PORT=$KUBE_ETCD_PORT; API_PORT=$KUBE_API_PORT
  local pid; pid=$(cat "$dir/kube-apiserver.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  mv "$dir/kube-apiserver.log" "$dir/kube-apiserver.log.1"
  start_apiserver
}

case $cmd in
  start) start ;;
  restart-apiserver) restart_apiserver ;;
  stop) [ -d "$dir" ] && { dir=$(cd "$dir" && pwd); stop_all; } ; exit 0 ;;
  *) echo "usage: $0 start|restart-apiserver|stop DIR" >&2; exit 2 ;;
esac
