"""Derive an air-gap-friendly ansible-builder definition from the shipped one.

Used by ``tests/setup/ee-build.sh``. The shipped ``execution-environment.yml`` is
for users: base ``quay.io/ansible/awx-ee``, collections from Ansible Galaxy. Here no
image can be pulled and Galaxy is not reachable (only PyPI and the Debian mirror), so
this writes a *derived* definition into ``--out`` that keeps everything the shipped
one says (ansible-core / ansible-runner requirements, its build steps and checks; the
collection's ``requirements.txt`` and ``bindep.txt`` come through its
``meta/execution-environment.yml``) and changes only what must change:

* base image: the local Debian bookworm image (``tests/setup/base-image.sh``), with
  ``apt-get`` as the package manager (``bindep.txt`` has ``platform:dpkg`` entries)
  and Debian's ``python3-pip``;
* collections: tarballs made by ``ansible-galaxy collection build``: this
  repository, and every collection the shipped definition lists (plus their
  dependencies) rebuilt from the copies the ``ansible`` PyPI package installed in
  the venv; each version is checked against the shipped definition's range;
  installed with ``ansible-galaxy collection install --offline``;
* the build-time CA bundle (TLS-intercepting proxies) goes into the system trust
  store for the build and is removed at the end of the final stage;
* the test-only system packages (``tests/setup/ee-test-bindep.txt``: skopeo, gnupg)
  are added, as the tests run them inside the image;
* pip installs are pinned with the CI leg's constraints file (reproducible, same
  versions as the tests).

Prints a JSON object: ``definition`` (path), ``inputs`` (a hash of everything the
image is built from; ee-build.sh stores it as a label to skip unchanged rebuilds)
and ``collections`` (FQCN -> version).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Bump when the derivation below changes in a way the other inputs do not show.
RECIPE = "ee-context-v2"
BUILD_DIR_IN_IMAGE = "/opt/ee-build"
CA_NAME = "ee-build-ca.crt"
TEST_BINDEP = REPO / "tests" / "setup" / "ee-test-bindep.txt"


class ContextError(Exception):
    pass


def _installed_collections_roots() -> list[Path]:
    import ansible_collections  # the `ansible` package's bundled collections

    return [Path(p) for p in ansible_collections.__path__]


def _find_installed(fqcn: str) -> Path:
    ns, name = fqcn.split(".")
    for root in _installed_collections_roots():
        candidate = root / ns / name
        if (candidate / "MANIFEST.json").is_file():
            return candidate
    raise ContextError(
        f"collection {fqcn} is not installed next to {sys.executable}: install the `ansible` package "
        "(make venv) or put a tarball of it in the context yourself"
    )


def _manifest(path: Path) -> dict:
    return json.loads((path / "MANIFEST.json").read_text())["collection_info"]


def _galaxy_build(src: Path, out: Path) -> Path:
    proc = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(src), "--output-path", str(out), "--force"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        raise ContextError(f"ansible-galaxy collection build {src} failed: {proc.stdout}{proc.stderr}")
    built = [line.rsplit(" at ", 1)[1].strip() for line in proc.stdout.splitlines() if "Created collection" in line]
    if not built:
        raise ContextError(f"ansible-galaxy collection build {src} printed no artifact: {proc.stdout}")
    return Path(built[-1])


def _rebuild_installed(fqcn: str, work: Path, out: Path) -> tuple[Path, dict]:
    """Tarball of an installed collection, made by ``ansible-galaxy collection build``.

    The ``ansible`` package strips tests and CI files but keeps the release's
    FILES.json, so the installed tree cannot be re-packed as is (ansible-galaxy would
    miss the listed files). Rebuilding from a galaxy.yml with the release's own
    metadata gives a tarball whose FILES.json lists exactly what is shipped."""
    src = _find_installed(fqcn)
    info = _manifest(src)
    tree = work / "src" / fqcn
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "MANIFEST.json", "FILES.json"))
    meta = {k: v for k, v in info.items() if v not in (None, "", [], {})}
    meta.setdefault("readme", "README.md")
    meta.setdefault("authors", ["unknown"])
    meta["dependencies"] = info.get("dependencies") or {}
    if meta.get("license"):
        meta.pop("license_file", None)
    (tree / "galaxy.yml").write_text(yaml.safe_dump(meta, sort_keys=True))
    return _galaxy_build(tree, out), info


def _tar_member(tarball: Path, name: str) -> bytes:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(name)
        if member is None:
            raise ContextError(f"{tarball} has no {name}")
        return member.read()


def _wanted(entry: dict) -> tuple[str, str | None]:
    """(FQCN, version range) of a galaxy entry; a ``type: file`` tarball is named
    NAMESPACE-NAME-VERSION.tar.gz, so its range is that version exactly."""
    if entry.get("type") == "file":
        base = Path(entry["name"]).name
        parts = base[: -len(".tar.gz")].split("-") if base.endswith(".tar.gz") else []
        if len(parts) != 3:
            raise ContextError(f"execution-environment.yml: {entry['name']} is not a NAMESPACE-NAME-VERSION.tar.gz")
        return f"{parts[0]}.{parts[1]}", f"=={parts[2]}"
    return entry["name"], entry.get("version")


def _check_version(fqcn: str, version: str, wanted: str | None) -> None:
    if not wanted or wanted == "*":
        return
    spec = SpecifierSet(",".join(part.strip() for part in str(wanted).split(",")))
    if Version(version) not in spec:
        raise ContextError(
            f"{fqcn} {version} (the local copy) does not satisfy {wanted!r} from execution-environment.yml: "
            "upgrade the `ansible` package in the venv or relax the range"
        )


def derive(out: Path, base_image: str, ca_file: Path | None, constraints: Path | None, base_image_id: str) -> dict:
    shipped_path = REPO / "execution-environment.yml"
    shipped = yaml.safe_load(shipped_path.read_text())
    if shipped.get("version") != 3:
        raise ContextError(f"{shipped_path}: expected an ansible-builder version 3 definition")
    out.mkdir(parents=True, exist_ok=True)
    colls = out / "collections"
    if colls.exists():
        shutil.rmtree(colls)
    colls.mkdir()
    extra = out / "ee-build"
    if extra.exists():
        shutil.rmtree(extra)
    extra.mkdir()

    deps = shipped["dependencies"]
    wanted = dict(_wanted(c) for c in deps["galaxy"]["collections"])
    own = yaml.safe_load((REPO / "galaxy.yml").read_text())
    own_fqcn = f"{own['namespace']}.{own['name']}"
    if own_fqcn not in wanted:
        raise ContextError(f"{shipped_path} does not list {own_fqcn}")

    tarballs = {own_fqcn: _galaxy_build(REPO, colls)}
    versions = {own_fqcn: own["version"]}
    _check_version(own_fqcn, own["version"], wanted[own_fqcn])
    queue = [n for n in wanted if n != own_fqcn] + list(own.get("dependencies") or {})
    while queue:
        fqcn = queue.pop(0)
        if fqcn in tarballs:
            continue
        tarballs[fqcn], info = _rebuild_installed(fqcn, out, colls)
        versions[fqcn] = info["version"]
        _check_version(fqcn, info["version"], wanted.get(fqcn))
        queue.extend(info.get("dependencies") or {})
    for dep_of_own, spec in (own.get("dependencies") or {}).items():
        _check_version(dep_of_own, versions[dep_of_own], spec)

    # the collection's own requirements.txt and bindep.txt reach the image through its
    # meta/execution-environment.yml (ansible-builder's introspection of the installed
    # tarball); the test image adds the test-only tools
    shutil.copy(TEST_BINDEP, out / "bindep.txt")

    arg_lines = ["ARG DEBIAN_FRONTEND=noninteractive"]
    if constraints:
        shutil.copy(constraints, extra / "constraints.txt")
        arg_lines.append(f"ARG PIP_CONSTRAINT={BUILD_DIR_IN_IMAGE}/constraints.txt")
    # apt keeps its lists gzipped, skips translations and writes no binary caches (as Debian's own
    # container images do): the lists stay in the base layer for the final stage's bindep
    # installs; otherwise they and the caches would add ~120 MB to the image
    prepare = [
        'printf \'Acquire::GzipIndexes "true";\\nAcquire::CompressionTypes::Order:: "gz";\\n'
        'Acquire::Languages "none";\\nDir::Cache::pkgcache "";\\nDir::Cache::srcpkgcache "";\\n\''
        " >/etc/apt/apt.conf.d/90ee-build",
        "apt-get update -q",
    ]
    if ca_file:
        shutil.copy(ca_file, extra / CA_NAME)
        prepare.insert(0, f"cp {BUILD_DIR_IN_IMAGE}/{CA_NAME} /usr/local/share/ca-certificates/ && update-ca-certificates")
    prepare += ["apt-get install -y -q --no-install-recommends python3-pip", "apt-get clean"]
    cleanup = [
        f"rm -rf {BUILD_DIR_IN_IMAGE} /etc/apt/apt.conf.d/90ee-build /var/lib/apt/lists/* /root/.cache",
        "apt-get clean",
    ]
    if ca_file:
        cleanup.insert(0, f"rm -f /usr/local/share/ca-certificates/{CA_NAME} && update-ca-certificates --fresh >/dev/null")

    shipped_steps = shipped.get("additional_build_steps") or {}
    steps = {
        # every stage image carries this label, so ee-build.sh can prune its own leftovers
        "prepend_base": ["LABEL io.cloud-registry-auth.ee-build=tests/setup/ee-build.sh"]
        + arg_lines
        + [
            f"COPY _build/ee-build/ {BUILD_DIR_IN_IMAGE}/",
            "RUN " + " && ".join(prepare),
        ]
        + list(shipped_steps.get("prepend_base") or []),
        "prepend_builder": arg_lines + list(shipped_steps.get("prepend_builder") or []),
        "prepend_final": arg_lines + ["ARG PKGMGR_OPTS=--no-install-recommends"] + list(shipped_steps.get("prepend_final") or []),
        "append_final": list(shipped_steps.get("append_final") or []) + ["RUN " + " && ".join(cleanup)],
    }
    for section, lines in shipped_steps.items():
        steps.setdefault(section, lines)

    derived = {
        "version": 3,
        "images": {"base_image": {"name": base_image}},
        "dependencies": {
            "ansible_core": deps["ansible_core"],
            "ansible_runner": deps["ansible_runner"],
            "system": "bindep.txt",
            "galaxy": {
                "collections": [{"name": f"/build/collections/{tarballs[f].name}", "type": "file"} for f in sorted(tarballs)]
            },
        },
        "options": {
            "package_manager_path": "/usr/bin/apt-get",
            # pip is Debian's python3-pip (installed in prepend_base): bookworm has no ensurepip
            "skip_pip_install": True,
        },
        "build_arg_defaults": {"ANSIBLE_GALAXY_CLI_COLLECTION_OPTS": "--offline"},
        "additional_build_files": [
            # a directory src copies its files into dest (ansible_builder.utils.copy_directory)
            {"src": "collections", "dest": "collections"},
            {"src": "ee-build", "dest": "ee-build"},
        ],
        "additional_build_steps": steps,
    }
    for key in ("options",):
        for k, v in (shipped.get(key) or {}).items():
            derived[key].setdefault(k, v)
    definition = out / "execution-environment.yml"
    header = (
        "# GENERATED by tests/setup/ee_context.py from the repository's execution-environment.yml:\n"
        "# local base image, Debian packages, collections from local tarballs (no Galaxy).\n"
    )
    definition.write_text(header + yaml.safe_dump(derived, sort_keys=False, width=200))

    digest = hashlib.sha256()
    for part in (RECIPE, base_image, base_image_id, _builder_version(), definition.read_text()):
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.parent in (out, extra) and p != definition):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for fqcn in sorted(tarballs):
        # the tarball bytes carry build timestamps; its manifests carry every file's sha256
        for member in ("MANIFEST.json", "FILES.json"):
            digest.update(fqcn.encode() + b"\0" + _tar_member(tarballs[fqcn], member) + b"\0")
    return {"definition": str(definition), "inputs": digest.hexdigest()[:24], "collections": versions}


def _builder_version() -> str:
    from importlib.metadata import version

    return version("ansible-builder")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="directory for the derived definition and its files")
    p.add_argument("--base-image", required=True)
    p.add_argument("--base-image-id", default="", help="image ID of --base-image (part of the input hash)")
    p.add_argument("--ca-file", type=Path, help="PEM bundle the build containers trust (TLS-intercepting proxy)")
    p.add_argument("--constraints", type=Path, help="pip constraints file for every pip install of the build")
    args = p.parse_args(argv)
    for opt in ("ca_file", "constraints"):
        path = getattr(args, opt)
        if path is not None and not path.is_file():
            p.error(f"--{opt.replace('_', '-')} {path}: no such file")
    try:
        result = derive(args.out.resolve(), args.base_image, args.ca_file, args.constraints, args.base_image_id)
    except ContextError as exc:
        print(f"ee_context: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
