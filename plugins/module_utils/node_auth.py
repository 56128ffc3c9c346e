# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node_auth role's whole desired state for one Kubernetes node, in one pass (private).

What a node reads to pull images, written in one module run instead of one run per
file, login, registry and provider:

* the logins in the kubelet's ``config.json`` (docker format, no identity token: the
  kubelet reads only username/password/auth) and the containers ``auth.json``
  (CRI-O, podman), through ``login.run`` (the logic of registry_login);
* containerd: ``hosts.toml`` per registry with a Basic ``Authorization`` header
  (``hosts``), or the deprecated ``registry.configs."host".auth`` tables in a marked
  block of ``config.toml`` (``cri_auth``), checked to parse as TOML first;
* the kubelet ``CredentialProviderConfig`` (rendered on the controller) and the
  provider binaries (sent by the action plugin only when a node's copy differs).

Every check runs before the first write: bad input changes nothing. Files holding a
secret are written ``0600``; diffs never show a secret. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import stat

from ansible_collections.cloud_registry.auth.plugins.module_utils import login as login_logic
from ansible_collections.cloud_registry.auth.plugins.module_utils import reference
from ansible_collections.cloud_registry.auth.plugins.module_utils import safe_path
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError, run_domain

CRI_BEGIN = "# BEGIN cloud_registry.auth node_auth: CRI registry auth"
CRI_END = "# END cloud_registry.auth node_auth: CRI registry auth"
MANAGED = "# Managed by cloud_registry.auth node_auth (Ansible)"


class NodeAuthError(CloudRegistryError):
    """Bad input for the node's desired state; the message is safe to show."""


def containerd_target(registry):
    """``(host, server, scheme)`` of a login for containerd: Docker Hub is ``docker.io``
    served at ``registry-1.docker.io``; ``http://`` keeps plain HTTP."""
    ref = reference.Reference.parse(registry)
    return ("docker.io" if ref.is_docker_hub else ref.hostport), ref.endpoint, ref.scheme or "https"


def hosts_toml(host, server, scheme, login, ca_file, bearer):
    url = "%s://%s" % (scheme, server)
    lines = [
        MANAGED,
        "# containerd registry host config for %s (config_path style)." % host,
        "server = %s" % json.dumps(url),
        "",
        "[host.%s]" % json.dumps(url),
        '  capabilities = ["pull", "resolve"]',
    ]
    if ca_file:
        lines.append("  ca = %s" % json.dumps(ca_file))
    if not bearer:
        token = base64.b64encode(("%s:%s" % (login["username"], login["password"])).encode("utf-8")).decode("ascii")
        lines += ["  [host.%s.header]" % json.dumps(url), "    Authorization = %s" % json.dumps("Basic " + token)]
    return "\n".join(lines) + "\n"


def cri_block(present, config_version, probe=False):
    """The lines node_auth keeps in config.toml (empty: no block)."""
    if not present:
        return []
    plugin = "io.containerd.grpc.v1.cri" if config_version == 2 else "io.containerd.cri.v1.images"
    lines = [
        '# CRI registry auth (registry.configs."<host>".auth), DEPRECATED by containerd: prefer the',
        "# kubelet's config.json / credential providers; see the node_auth role README.",
    ]
    for host, login in present:
        lines += [
            "[plugins.%s.registry.configs.%s.auth]" % (json.dumps(plugin), json.dumps(host)),
            "  username = %s" % json.dumps(login["username"]),
            "  password = %s" % json.dumps("probe" if probe else login["password"]),
        ]
    return lines


def with_block(text, block):
    """``text`` with the marked block replaced by ``block`` (removed when empty), or added at the end."""
    lines = text.splitlines() if text else []
    out, inside, placed = [], False, False
    for line in lines:
        if line == CRI_BEGIN:
            inside = True
            if block and not placed:
                out += [CRI_BEGIN] + block + [CRI_END]
                placed = True
            continue
        if line == CRI_END and inside:
            inside = False
            continue
        if not inside:
            out.append(line)
    if block and not placed:
        out += [CRI_BEGIN] + block + [CRI_END]
    return ("\n".join(out) + "\n") if out else ""


def check_toml(path, text):
    try:
        import tomllib
    except ImportError:
        return  # Python < 3.11 on the node: containerd itself will tell
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise NodeAuthError(
            "%s cannot take the CRI registry auth tables node_auth adds (%s): it defines them itself or is not valid "
            "TOML; remove its own registry.configs auth for these registries, or use node_auth_containerd: hosts or "
            "none. Nothing was changed." % (path, e)
        ) from None


def _sha256(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (IOError, OSError):
        return None
    return h.hexdigest()


class Writer:
    """Whole-file writes through safe_path (locked, atomic, owner and mode set), with check mode."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.changed_paths = []

    def put(self, path, data, mode, uid=0, gid=0):
        """Write ``data`` (bytes) at ``path`` with owner and mode; True when something changes."""
        res = safe_path.resolve(path, what="file")
        try:
            if not res.dir_exists:
                self.changed_paths.append(path)
                if self.check_mode:
                    return True
                safe_path.make_dirs(res, uid, gid)  # the directories only when something is written
                res.close()
                res = safe_path.resolve(path, what="file")
            with safe_path.DirLock(res.dir_fd):
                current = safe_path.read_bytes(res)
                st = res.st
                same = (
                    current == data
                    and st is not None
                    and stat.S_IMODE(st.st_mode) == mode
                    and (st.st_uid, st.st_gid) == (uid, gid)
                )
                if same:
                    return False
                if path not in self.changed_paths:
                    self.changed_paths.append(path)
                if not self.check_mode:
                    safe_path.remove_stale_temps(res)
                    safe_path.replace_file(res, data, uid, gid, mode)
                return True
        finally:
            res.close()

    def read(self, path):
        res = safe_path.resolve(path, what="file")
        try:
            data = safe_path.read_bytes(res)
        finally:
            res.close()
        return None if data is None else data.decode("utf-8")

    def remove(self, path):
        if not os.path.lexists(path):
            return False
        self.changed_paths.append(path)
        if not self.check_mode:
            os.unlink(path)
        return True


def _prepare_logins(logins, timeout):
    """Passwords read from files and host-side verification, before anything is written."""
    verified = {}
    for login in logins:
        if login.get("state", "present") != "present":
            continue
        if login.get("password") is None and login.get("password_file"):
            login["password"] = login_logic.read_password_file(login["password_file"])
        if not login.get("username") or login.get("password") in (None, ""):
            raise NodeAuthError(
                "node_auth_logins entry %s: a present login needs a username and a password or password_file" % login["registry"]
            )
        if login.get("_verified_scheme") or not login.get("verify"):
            continue
        key = (login["registry"], login["username"], login["password"])
        if key not in verified:
            from ansible_collections.cloud_registry.auth.plugins.module_utils.registry import verify

            verified[key] = verify(
                login["registry"],
                login["username"],
                login["password"],
                validate_certs=login.get("validate_certs", True),
                ca_cert=login.get("ca_cert"),
                timeout=timeout,
            ).scheme
        login["_verified_scheme"] = verified[key]


def apply(p, check_mode=False, run_command=None, want_diff=False, binary_files=None):
    """Apply the node's desired state. Returns the result (no secret), or
    ``{"need_binaries": [...]}`` when provider binaries must be sent first (nothing written)."""
    logins = [dict(lg) for lg in p.get("logins") or []]
    timeout = p.get("timeout") or 30
    _prepare_logins(logins, timeout)
    present = [lg for lg in logins if lg.get("state", "present") == "present"]
    ctd = p.get("containerd") or {}
    mode = ctd.get("mode") or "none"
    writer = Writer(check_mode)
    result = {
        "changed": False,
        "kubelet_config_changed": False,
        "restart_kubelet": False,
        "restart_containerd": False,
        "files": [],
        "bearer_hosts": [],
    }

    # -- every check before the first write --------------------------------------
    targets = [(lg, containerd_target(lg["registry"])) for lg in logins] if mode != "none" else []
    cri_text = None
    if mode == "cri_auth":
        path = ctd["config_path"]
        current = writer.read(path) or ""
        block = cri_block([(t[0], lg) for lg, t in targets if lg in present], ctd.get("config_version", 2))
        probe_block = cri_block([(t[0], lg) for lg, t in targets if lg in present], ctd.get("config_version", 2), probe=True)
        if block or CRI_BEGIN in current:
            check_toml(path, with_block(current, probe_block))
            cri_text = with_block(current, block)
    providers = p.get("providers") or {}
    need = []
    for binary in providers.get("_binaries") or []:
        dest = os.path.join(providers["bin_dir"], binary["name"])
        binary["_dest"] = dest
        binary["_current"] = _sha256(dest)
        if binary["_current"] != binary["sha256"].lower() and binary["name"] not in (binary_files or {}):
            need.append(binary["name"])
    if need and not check_mode:
        return {"changed": False, "need_binaries": need}

    # -- logins in the kubelet's config.json and the containers auth.json ----------
    diffs = []
    for f in p.get("files") or []:
        file_changed = False
        for lg in logins:
            args = dict(
                lg,
                store="file",
                format=f["format"],
                config_path=f["path"],
                identity_token=f["identity_token"],
                owner=p.get("owner"),
                group=p.get("group"),
                mode=p.get("mode"),
                verify=False,
                timeout=timeout,
            )
            res = login_logic.run(args, check_mode=check_mode, run_command=run_command, want_diff=want_diff)
            file_changed = file_changed or res["changed"]
            if res.get("diff"):
                diffs.extend(res["diff"] if isinstance(res["diff"], list) else [res["diff"]])
        result["files"].append({"path": f["path"], "format": f["format"], "changed": file_changed})
        if file_changed and f["format"] == "docker":
            result["kubelet_config_changed"] = result["restart_kubelet"] = True

    # -- containerd ----------------------------------------------------------------
    bearer = set(ctd.get("bearer_hosts") or [])
    if mode == "hosts":
        for lg, (host, server, scheme) in targets:
            path = os.path.join(ctd["certs_dir"], host, "hosts.toml")
            if lg in present:
                is_bearer = host in bearer or lg.get("_verified_scheme") == "bearer"
                if is_bearer:
                    result["bearer_hosts"].append(host)
                text = hosts_toml(host, server, scheme, lg, ctd.get("ca_file"), is_bearer)
                if writer.put(path, text.encode("utf-8"), 0o600):
                    diffs.append(
                        {
                            "before_header": path,
                            "after_header": path,
                            "before": "",
                            "after": "(hosts.toml for %s: holds a credential, not shown)\n" % host,
                        }
                    )
            elif writer.remove(path):
                diffs.append({"before_header": path, "after_header": path, "before": "(hosts.toml)\n", "after": ""})
    elif mode == "cri_auth":
        if cri_text is not None and writer.put(ctd["config_path"], cri_text.encode("utf-8"), 0o600):
            result["restart_containerd"] = True
            diffs.append(
                {
                    "before_header": ctd["config_path"],
                    "after_header": ctd["config_path"],
                    "before": "",
                    "after": "(the CRI registry auth block: holds credentials, not shown)\n",
                }
            )
        dropin = ctd.get("dropin")
        if dropin:
            old = writer.read(dropin)
            if old:
                note = "# cloud_registry.auth node_auth: the CRI registry auth is in %s now\n" % ctd["config_path"]
                if old != note and writer.put(dropin, note.encode("utf-8"), 0o600):
                    result["restart_containerd"] = True

    # -- kubelet image credential providers -----------------------------------------
    if providers.get("_config") is not None:
        for download in providers.get("_downloads") or []:
            dest = os.path.join(providers["bin_dir"], download["name"])
            if _sha256(dest) == download["sha256"]:
                continue
            result["restart_kubelet"] = True
            writer.changed_paths.append(dest)
            if not check_mode:
                _download(download["url"], dest, download["sha256"], p.get("validate_certs", True), timeout)
        for binary in providers.get("_binaries") or []:
            if binary["_current"] == binary["sha256"].lower():
                continue
            result["restart_kubelet"] = True
            writer.changed_paths.append(binary["_dest"])
            if not check_mode:
                _install_binary((binary_files or {})[binary["name"]], binary["_dest"], binary["sha256"])
        content = providers["_config"].encode("utf-8")
        config_dir = os.path.dirname(providers["config_path"])
        if not check_mode and not os.path.isdir(config_dir):
            os.makedirs(config_dir, 0o755)
        if writer.put(providers["config_path"], content, 0o644):
            result["restart_kubelet"] = True
    result["changed_paths"] = writer.changed_paths
    result["changed"] = bool(writer.changed_paths) or any(f["changed"] for f in result["files"])
    if want_diff and diffs:
        result["diff"] = diffs
    return result


def _download(url, dest, sha256, validate_certs, timeout):
    """Fetch a provider binary on the node (like get_url with a sha256 checksum), then install it."""
    import tempfile

    from ansible.module_utils.urls import open_url

    directory = os.path.dirname(dest)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".download.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = open_url(url, validate_certs=validate_certs, timeout=timeout)
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
            except Exception as e:  # noqa: BLE001 - urllib's errors; the URL carries no secret
                raise NodeAuthError("cannot download the provider binary %s: %s" % (url, e)) from None
        try:
            _install_binary(tmp, dest, sha256)
        except NodeAuthError:
            raise NodeAuthError(
                "the provider binary at %s does not have the sha256 %s given; nothing was installed" % (url, sha256)
            ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _install_binary(src, dest, sha256):
    """Put the sent binary at ``dest`` (0755 root) atomically, after checking what arrived."""
    got = _sha256(src)
    if got != sha256.lower():
        raise NodeAuthError("provider binary for %s arrived with sha256 %s, not %s; nothing was installed" % (dest, got, sha256))
    directory = os.path.dirname(dest)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    with open(src, "rb") as f:
        data = f.read()
    res = safe_path.resolve(dest, what="file")
    try:
        with safe_path.DirLock(res.dir_fd):
            safe_path.replace_file(res, data, 0, 0, 0o755)
    finally:
        res.close()


def safe_apply(params, **kwargs):
    """``apply()`` with every domain error turned into NodeAuthError (what the module catches)."""
    return run_domain(NodeAuthError, apply, params, **kwargs)
