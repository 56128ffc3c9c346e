#!/usr/bin/env bash
# The collection docsite, built with antsibull-docs and Sphinx (`make docs`).
#
#   1. antsibull-docs lint-collection-docs --plugin-docs: every DOCUMENTATION block, role
#      argument spec and docs/docsite/ file (extra-docs.yml, links.yml, rst/*.rst) is
#      checked, semantic markup references included;
#   2. antsibull-docs sphinx-init + the build.sh it writes: plugin pages from the
#      DOCUMENTATION blocks, role pages from meta/argument_specs.yml, the guides of
#      docs/docsite/rst as extra docs; `sphinx-build -W` (a warning fails the build).
#
# Output: .tmp/docsite/build/html/index.html (DOCS_DEST=DIR: DIR/build/html/index.html)
# Needs .venv-docs (make venv-docs). DOCS_OFFLINE=1 (default) fetches no intersphinx
# inventory and shows references to docs.ansible.com as text; DOCS_OFFLINE=0 links them,
# where that site is reachable (tests/setup/docsite_ext.py, which also points the theme's home
# link at this site's index).
# Usage: tests/setup/docs-build.sh [--lint-only | --no-lint]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=${DOCS_VENV:-$ROOT/.venv-docs}
DEST=${DOCS_DEST:-$ROOT/.tmp/docsite}
[ -x "$VENV/bin/antsibull-docs" ] || { echo "$VENV/bin/antsibull-docs not found: run make venv-docs" >&2; exit 1; }
export PATH=$VENV/bin:$PATH  # antsibull-docs runs the ansible-doc of its own venv
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.tmp/collections
mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry"
ln -sfn "$ROOT" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cloud_registry/auth"

start=$(date +%s)
if [ "${1:-}" != --no-lint ]; then
  antsibull-docs lint-collection-docs --plugin-docs "$ROOT"
  echo "docs: lint-collection-docs clean ($(( $(date +%s) - start ))s)"
fi
[ "${1:-}" = --lint-only ] && exit 0

rm -rf "$DEST"
mkdir -p "$DEST"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
  --title "cloud_registry.auth" --dest-dir "$DEST" cloud_registry.auth >/dev/null
offline=False
[ "${DOCS_OFFLINE:-1}" = 1 ] && offline=True
cat >>"$DEST/conf.py" <<EOF

# added by tests/setup/docs-build.sh
import sys as _sys
_sys.path.insert(0, "$ROOT/tests/setup")
extensions.append("docsite_ext")
cra_docs_offline = $offline
EOF
bash "$DEST/build.sh"
echo "docs: built $DEST/build/html/index.html ($(( $(date +%s) - start ))s)"
