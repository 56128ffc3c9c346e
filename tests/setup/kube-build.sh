#!/usr/bin/env bash
# Build the real Kubernetes components the tests run, from their Go modules at the
# versions pinned in tests/setup/kube/go.mod (etcd, kube-apiserver,
# kube-controller-manager, kubelet) and below (crictl). Binaries are cached outside
# the work tree, keyed by the pins, so a warm machine rebuilds nothing.
#   tests/setup/kube-build.sh        build (or reuse) and print the bin directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CRICTL_VERSION=v1.37.0
KUBE_VERSION=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/kube/go.mod")
key=$(cat "$here/kube/go.mod" "$here/kube/go.sum" "$here"/kube/cmd/*/main.go "$0" \
      | sha256sum | cut -c1-16)
cache=${KUBE_BIN_CACHE:-/var/cache/cloud-registry-auth/kube}
out=$cache/$key
bins=(etcd kube-apiserver kube-controller-manager kubelet crictl)
ok=1
for b in "${bins[@]}"; do [ -x "$out/$b" ] || ok=0; done
if [ $ok = 1 ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "kube-build: go is not installed (the machine image has Go 1.26)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# another build may have finished while we waited for the lock
ok=1
for b in "${bins[@]}"; do [ -x "$out/$b" ] || ok=0; done
[ $ok = 1 ] && { echo "$out"; exit 0; }
echo "kube-build: building ${bins[*]} ($KUBE_VERSION) from their Go modules (a cold build takes about 20 min on 2 cores)" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ver=k8s.io/component-base/version
ldflags="-s -w"
for pkg in $ver k8s.io/client-go/pkg/version; do
  major=${KUBE_VERSION#v}; minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(
  cd "$here/kube"
  go build -trimpath -ldflags "$ldflags" -o "$tmp/" ./cmd/...
)
GOBIN=$tmp go install -trimpath -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
for b in "${bins[@]}"; do [ -x "$tmp/$b" ] || { echo "kube-build: $b was not built" >&2; exit 1; }; done
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
# builds of other pins are not used any more
find "$cache" -mindepth 1 -maxdepth 1 -type d -not -name "$key" -not -name '.build.*' -exec rm -rf {} +
echo "kube-build: built ${bins[*]} ($KUBE_VERSION, crictl $CRICTL_VERSION) in $(( $(date +%s) - start ))s" >&2
echo "$out"
