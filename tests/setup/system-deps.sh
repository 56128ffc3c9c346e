#!/usr/bin/env bash
# Install the Debian packages listed in apt-packages.txt that are missing.
# gcloud (google-cloud-cli) and kubectl come with the machine image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/apt-packages.txt")
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in gcloud kubectl; do
  command -v "$tool" >/dev/null || { echo "$tool is required (machine image) but not on PATH" >&2; exit 1; }
done
