#!/usr/bin/env bash
# ansible-test sanity for one CI leg: tests/setup/sanity.sh .venv | .venv313 [extra ansible-test args]
# ansible-test needs the collection under ansible_collections/NS/NAME, so a copy
# of the tracked tree is made there (ignore files must stay empty).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${1:?usage: sanity.sh VENV [ansible-test sanity args, e.g. --test pylint plugins/modules/x.py]}
shift
root=$PWD
pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# ansible-test bootstraps pip in its venvs with a get-pip script fetched from a host
# this network does not reach; give it our ensurepip-based bootstrap instead.
pip_ver=$("$venv/bin/python" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p ~/.ansible/test/cache
cp tests/setup/get_pip_bootstrap.py ~/.ansible/test/cache/get_pip_${pip_ver//./_}.py
work=$root/.tmp/sanity-$pyver-$$
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/cloud_registry/auth
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$dest/"
cd "$dest"
git init -q && git add -A >/dev/null 2>&1 && git -c user.email=ci@example.invalid -c user.name=ci commit -qm sanity >/dev/null
# Test harness code (stand-in servers, benchmarks, CI scripts) is linted by ruff, not shipped as plugins.
excludes=()
for d in tests/fixtures/ tests/support/ tests/perf/ tests/setup/ scripts/ extensions/; do
  [ -e "$d" ] && excludes+=(--exclude "$d")
done
PATH=$root/$venv/bin:$PATH "$root/$venv/bin/ansible-test" sanity --color no --python "$pyver" --requirements "${excludes[@]}" "$@"
