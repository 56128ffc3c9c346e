# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for node_auth_apply: on the controller, once per run whatever the nodes,
verify every credential, ask containerd-bound registries which scheme they challenge with
and hash the provider binaries; then one module run per node, with the secrets sent by
file. A provider binary is sent only to a node whose copy differs: one shell command asks the
node for its digests first (where it cannot tell, the module says so and runs a second time
with the files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils._node_auth_spec import ARGUMENT_SPEC
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils import credential_providers
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import (
        refuse_internal,
        send_secrets,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.verification import (
        file_sha256_once,
        scheme_once,
        verify_once,
    )

MODULE = "cloud_registry.auth.node_auth_apply"
INTERNAL = ("_secrets_file", "_bearer_hosts", "_binary_files")


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        refuse_internal(self._task.args, MODULE, INTERNAL)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        args = dict(self._task.args)
        logins = []
        bearer = []
        hosts_mode = (params.get("containerd") or {}).get("mode") == "hosts"
        for checked, raw in zip(params["logins"], args.get("logins") or []):
            if "_verified_scheme" in raw:
                raise AnsibleActionFail("_verified_scheme is internal to %s and cannot be set in a task" % MODULE)
            raw = dict(raw)
            scheme = None
            if (
                checked["state"] == "present"
                and params["verify"]
                and params["verify_from"] == "controller"
                and checked.get("password") is not None
            ):
                scheme, _token = verify_once(
                    self._display,
                    checked["registry"],
                    checked.get("username"),
                    checked["password"],
                    validate_certs=params["validate_certs"],
                    ca_cert=params.get("ca_cert"),
                    timeout=params["timeout"],
                    owner="node_auth",
                )
                raw["_verified_scheme"] = scheme
            if hosts_mode and checked["state"] == "present":
                if scheme is None:
                    scheme = scheme_once(
                        self._display, checked["registry"], params["validate_certs"], params.get("ca_cert"), params["timeout"]
                    )
                if scheme == "bearer":
                    bearer.append(checked["registry"])
            logins.append(raw)
        args["logins"] = logins
        if bearer:
            with cached_imports():
                from ansible_collections.cloud_registry.auth.plugins.module_utils.node_auth import containerd_target

            args["_bearer_hosts"] = sorted(set(containerd_target(r)[0] for r in bearer))
        sources, binaries = {}, []
        providers = dict(args.get("providers") or {})
        entries = (params.get("providers") or {}).get("entries") or []
        if entries:
            for key in ("_config", "_binaries", "_downloads"):
                if key in providers:
                    raise AnsibleActionFail("providers.%s is internal to %s and cannot be set in a task" % (key, MODULE))
            try:
                for entry in entries:
                    credential_providers.check(entry)
                providers["_config"] = credential_providers.render(entries)
            except credential_providers.ProviderError as e:
                raise AnsibleActionFail(str(e)) from None
            downloads = []
            for e in entries:
                if "src" in e:
                    digest = file_sha256_once(self._display, e["src"])
                    if e.get("sha256") and str(e["sha256"]).lower() != digest:
                        raise AnsibleActionFail(
                            "node_auth_credential_providers entry %s: %s has sha256 %s, not the %s given; nothing "
                            "was changed." % (e["name"], e["src"], digest, e["sha256"])
                        )
                    sources[e["name"]] = e["src"]
                    binaries.append({"name": e["name"], "sha256": digest})
                else:
                    downloads.append({"name": e["name"], "url": e["url"], "sha256": str(e["sha256"]).lower()})
            providers.update(_binaries=binaries, _downloads=downloads)
            args["providers"] = providers
        sent = {}
        if sources and not self._task.check_mode:
            # one shell command asks the node for the digests of its copies: a binary that differs goes with the
            # first module run, so a first deployment costs one module run, not two
            stale = self._stale_binaries(providers, binaries)
            if stale:
                sent = self._send_binaries(sources, stale)
        sealed = send_secrets(self, dict(args, _binary_files=sent) if sent else args, [("logins", "*", "password")])
        out = self._execute_module(module_name=MODULE, module_args=sealed, task_vars=task_vars)
        if out.get("need_binaries"):
            # the node could not say, or its copies changed since: send those binaries and run again (the module
            # wrote nothing)
            sent.update(self._send_binaries(sources, out["need_binaries"]))
            sealed = send_secrets(self, dict(args, _binary_files=sent), [("logins", "*", "password")])
            out = self._execute_module(module_name=MODULE, module_args=sealed, task_vars=task_vars)
        result.update(out)
        return result

    def _stale_binaries(self, providers, binaries):
        """Names of the provider binaries whose copy on the node is missing or has another sha256; None when the
        node cannot tell (no sha256sum): then the module says which it needs."""
        shell = self._connection._shell
        dests = dict((shell.join_path(providers["bin_dir"], b["name"]), b) for b in binaries)
        cmd = "command -v sha256sum >/dev/null 2>&1 || exit 127; sha256sum -- %s 2>/dev/null; exit 0" % " ".join(
            shlex.quote(d) for d in dests
        )
        res = self._low_level_execute_command(cmd, sudoable=True)
        if res.get("rc") != 0:
            return None
        found = {}
        for line in (res.get("stdout") or "").splitlines():
            digest, sep, path = line.partition("  ")
            if sep and len(digest) == 64:
                found[path] = digest.lower()
        return [b["name"] for d, b in dests.items() if found.get(d) != b["sha256"]]

    def _send_binaries(self, sources, names):
        """Copy the named provider binaries into the task's remote temporary directory; ``{name: remote path}``."""
        shell = self._connection._shell
        tmpdir = shell.tmpdir or self._make_tmp_path()
        sent = {}
        for name in names:
            remote = shell.join_path(tmpdir, "provider-" + name)
            self._transfer_file(sources[name], remote)
            sent[name] = remote
        self._fixup_perms2([tmpdir] + list(sent.values()))
        return sent
