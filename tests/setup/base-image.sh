#!/usr/bin/env bash
# Build the local base image used as "fleet hosts" by Molecule scenarios, the
# fleet benchmark and integration tests: Debian bookworm minbase with python3 and
# the clients the verify steps run inside instances (skopeo, the Debian credential
# helpers). No image can be pulled here, so it is built from the Debian mirror with
# debootstrap and loaded with `docker import`.
#
# Cached: the image carries a label with the hash of its recipe (this section of
# the file: suite, mirror, package list, changes). When an image with the same
# hash exists, nothing is done.
#
# Usage: tests/setup/base-image.sh [--force] [--print-name]
#   BASE_IMAGE=<name:tag>   image to build (default cloud-registry-auth/bookworm-python:latest)
#   DEBIAN_MIRROR=<url>     mirror for debootstrap (default: the one apt uses here)
set -euo pipefail

IMAGE=${BASE_IMAGE:-cloud-registry-auth/bookworm-python:latest}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the instances need:
#   python3, python3-apt       Ansible modules (apt needs python3-apt)
#   sudo                       `become` to root and to the fleet users
#   ca-certificates            TLS to registries
#   skopeo                     verify: pull from the local registry with the written credentials
#   golang-docker-credential-helpers, amazon-ecr-credential-helper
#                              the distribution packages credential_helpers installs
#                              (preinstalled so scenarios need no apt mirror at converge time)
# debootstrap resolves only Depends and configures everything in one pass, which
# gnome-keyring (pulled in by golang-docker-credential-helpers) does not survive, so the
# base system comes from debootstrap and the rest from apt-get inside the chroot.
PACKAGES=python3,python3-apt,sudo,ca-certificates
EXTRA_PACKAGES="skopeo golang-docker-credential-helpers amazon-ecr-credential-helper"
LABEL=io.cloud-registry-auth.recipe

recipe_hash() {
  printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$EXTRA_PACKAGES" "v3-chroot-apt" | sha256sum | cut -c1-16
}

force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --print-name) echo "$IMAGE"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

want=$(recipe_hash)
have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$force" = 0 ] && [ "$have" = "$want" ]; then
  echo "base image $IMAGE is up to date (recipe $want)"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap not found: run tests/setup/system-deps.sh" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

start=$(date +%s)
work=$(mktemp -d /var/tmp/cra-rootfs.XXXXXX)
cleanup() {
  # debootstrap may leave /proc mounted inside the target on failure
  for m in proc sys dev/pts dev; do
    mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building $IMAGE (recipe $want) from $MIRROR ..."
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/root" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }

# Containers have no init; keep apt from trying to start services.
printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
chmod 0755 "$work/root/usr/sbin/policy-rc.d"
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$work/root/etc/apt/sources.list"
cp /etc/resolv.conf "$work/root/etc/resolv.conf"
mount -t proc proc "$work/root/proc"
if ! chroot "$work/root" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends $EXTRA_PACKAGES" >"$work/apt.log" 2>&1; then
  tail -n 40 "$work/apt.log" >&2
  exit 1
fi
umount "$work/root/proc"
: >"$work/root/etc/resolv.conf"

# Slim it down: package caches, lists, docs and man pages are not needed on a test host.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
  "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/usr/share/info/"*

tar -C "$work/root" --numeric-owner -c . | docker import \
  --change "LABEL $LABEL=$want" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sleep", "infinity"]' \
  - "$IMAGE" >/dev/null

size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
echo "built $IMAGE in $(( $(date +%s) - start ))s, $(( size / 1024 / 1024 )) MiB (recipe $want)"
