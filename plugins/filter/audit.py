# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the audit playbook: the report model and its HTML and Markdown renderings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json

from ansible.errors import AnsibleFilterError

# the worst state of a cell decides its colour
ORDER = ("empty", "present", "valid", "unverifiable", "expiring", "ignored", "helper_missing", "expired", "invalid")
COLOURS = {
    "valid": ("#1a7f37", "#ffffff"),
    "present": ("#aceebb", "#0a3622"),
    "unverifiable": ("#b6e3ff", "#0a3069"),
    "expiring": ("#f5c84c", "#3b2300"),
    "ignored": ("#d0d7de", "#24292f"),
    "helper_missing": ("#fb8f44", "#2f1000"),
    "expired": ("#cf222e", "#ffffff"),
    "invalid": ("#82071e", "#ffffff"),
    "empty": ("#f6f8fa", "#57606a"),
    "missing": ("#cf222e", "#ffffff"),
}
LABELS = {
    "valid": "valid",
    "present": "present, not verified",
    "unverifiable": "kept by a helper",
    "expiring": "expiring soon",
    "ignored": "ignored by its client",
    "helper_missing": "helper missing",
    "expired": "expired",
    "invalid": "invalid",
    "empty": "no credential",
    "missing": "missing",
}


def _worst(states):
    return max(states, key=lambda s: ORDER.index(s) if s in ORDER else -1) if states else None


def audit_model(hosts, clusters=None, generated_at=None):
    """``hosts``: {host: registry_auth_info result}; ``clusters``: [{cluster, result}] of k8s_pull_secret_info."""
    if not isinstance(hosts, dict):
        raise AnsibleFilterError("audit_model: hosts must be a mapping of host name to registry_auth_info result")
    registries, rows, problems, drift, unreachable = set(), [], [], [], []
    totals = dict((s, 0) for s in ORDER)
    for host in sorted(hosts):
        res = hosts[host] or {}
        if res.get("failed") or res.get("unreachable") or "entries" not in res:
            unreachable.append({"host": host, "msg": res.get("msg") or "no result"})
            continue
        cells = {}
        for entry in res["entries"]:
            registries.add(entry["registry"])
            cell = cells.setdefault(entry["registry"], {"states": [], "entries": []})
            cell["states"].append(entry["state"])
            cell["entries"].append(
                dict(
                    (k, entry.get(k))
                    for k in ("user", "path", "stored", "helper", "username", "kind", "state", "expires_at", "reason")
                )
            )
            totals[entry["state"]] = totals.get(entry["state"], 0) + 1
        for cell in cells.values():
            cell["state"] = _worst(cell.pop("states"))
        rows.append({"host": host, "cells": cells})
        for f in res.get("files") or []:
            for p in f.get("problems") or []:
                problems.append({"host": host, "problem": p})
            if f.get("error"):
                problems.append({"host": host, "problem": f["error"]})
        for d in res.get("drift") or []:
            drift.append({"host": host, "problem": d["problem"]})
    k8s, cluster_errors = [], []
    for item in clusters or []:
        # a loop result of k8s_pull_secret_info (the cluster in its item) or {cluster, result}
        res = item.get("result") if "result" in item else item
        cluster = item.get("cluster") or _cluster_name(item.get("item") or {})
        if res.get("failed"):
            cluster_errors.append({"host": "cluster %s" % cluster, "msg": res.get("msg") or "failed"})
        for ns in res.get("namespaces") or []:
            states = [s["state"] for s in ns["secrets"]]
            k8s.append(
                {
                    "cluster": cluster,
                    "namespace": ns["namespace"],
                    "state": "missing" if ns.get("missing") else (_worst(states) or "empty"),
                    "secrets": [dict((k, s.get(k)) for k in ("name", "state", "expires_at", "used_by")) for s in ns["secrets"]],
                    "service_accounts_without": ns.get("service_accounts_without") or [],
                }
            )
    return {
        "generated_at": generated_at,
        "registries": sorted(registries),
        "rows": rows,
        "totals": totals,
        "problems": problems,
        "drift": drift,
        "unreachable": unreachable,
        "k8s": k8s,
        "cluster_errors": cluster_errors,
        "hosts": len(rows) + len(unreachable),
    }


def _cluster_name(cluster):
    return cluster.get("name") or cluster.get("context") or cluster.get("host") or cluster.get("kubeconfig") or "cluster"


def audit_targets(users):
    """``docker_auth_users`` as registry_auth_info reads them: ``users`` (home files), ``files`` (a user's
    ``config_path``) and ``where`` (each user's file, for the expected state)."""
    out = {"users": [], "files": [], "where": []}
    for u in users or []:
        if isinstance(u, str):
            u = {"name": u}
        if u.get("config_path"):
            out["files"].append({"path": u["config_path"], "format": "docker", "owner": u["name"]})
            out["where"].append({"path": u["config_path"]})
        else:
            out["users"].append(u["name"])
            out["where"].append({"user": u["name"]})
    return out


def audit_expected(where, logins, helpers):
    """The desired state the docker_auth role writes, as registry_auth_info's ``expected``."""
    out = []
    for w in where or []:
        for login in logins or []:
            # a login the role stores in a helper is not in the file: only inline logins are compared
            if (
                login.get("state", "present") == "present"
                and login.get("registry")
                and login.get("store", "file") in ("file", "auto")
            ):
                out.append(dict(w, registry=login["registry"], username=login.get("username")))
        for registry, helper in sorted((helpers or {}).items()):
            out.append(dict(w, registry=registry, helper=helper))
    return out


def _e(text):
    return html.escape("" if text is None else "%s" % text, quote=True)


def _cell_text(cell):
    lines = []
    for e in cell["entries"]:
        who = e.get("user") or e.get("path")
        what = e.get("username") or (e.get("helper") and "helper " + e["helper"]) or e.get("stored")
        line = "%s: %s (%s)" % (who, what, LABELS.get(e["state"], e["state"]))
        if e.get("expires_at"):
            line += ", expires %s" % e["expires_at"]
        if e.get("reason"):
            line += ". %s" % e["reason"]
        lines.append(line)
    return lines


def audit_html(model, title="Registry credentials audit"):
    """A self-contained page (inline CSS, no script, no external resource)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>%s</title>" % _e(title),
        "<style>",
        "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#24292f}",
        "table{border-collapse:collapse;margin:12px 0}",
        "th,td{border:1px solid #d0d7de;padding:6px 10px;text-align:left;vertical-align:top}",
        "th{background:#f6f8fa}td.state{font-weight:600;min-width:120px}",
        ".legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:4px}",
        "details{font-weight:normal;font-size:12px}",
        "</style></head><body>",
        "<h1>%s</h1>" % _e(title),
        '<p id="summary">%d hosts, %d registries, generated %s.</p>'
        % (model["hosts"], len(model["registries"]), _e(model.get("generated_at") or "")),
    ]
    out.append(
        '<p class="legend">'
        + "".join(
            '<span class="state-%s" style="background:%s;color:%s">%s: %d</span>'
            % (s, COLOURS[s][0], COLOURS[s][1], _e(LABELS[s]), model["totals"].get(s, 0))
            for s in ORDER
        )
        + "</p>"
    )
    out.append(
        '<table id="matrix"><thead><tr><th>host</th>%s</tr></thead><tbody>'
        % "".join("<th>%s</th>" % _e(r) for r in model["registries"])
    )
    for row in model["rows"]:
        out.append("<tr><th>%s</th>" % _e(row["host"]))
        for reg in model["registries"]:
            cell = row["cells"].get(reg)
            if not cell:
                out.append('<td class="none"></td>')
                continue
            bg, fg = COLOURS.get(cell["state"], ("#ffffff", "#24292f"))
            details = "<br>".join(_e(t) for t in _cell_text(cell))
            out.append(
                '<td class="state state-%s" data-state="%s" style="background:%s;color:%s">%s'
                "<details><summary>%d entr%s</summary>%s</details></td>"
                % (
                    _e(cell["state"]),
                    _e(cell["state"]),
                    bg,
                    fg,
                    _e(LABELS.get(cell["state"], cell["state"])),
                    len(cell["entries"]),
                    "y" if len(cell["entries"]) == 1 else "ies",
                    details,
                )
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    for key, heading in (
        ("unreachable", "Hosts without a result"),
        ("cluster_errors", "Clusters without a result"),
        ("problems", "File problems"),
        ("drift", "Drift from the desired state"),
    ):
        if model.get(key):
            out.append('<h2>%s</h2><ul id="%s">' % (heading, key))
            out += ["<li><b>%s</b>: %s</li>" % (_e(p["host"]), _e(p.get("problem") or p.get("msg"))) for p in model[key]]
            out.append("</ul>")
    if model["k8s"]:
        out.append(
            '<h2>Pull secrets</h2><table id="k8s"><thead><tr><th>cluster</th><th>namespace</th><th>state</th>'
            "<th>secrets</th><th>service accounts without it</th></tr></thead><tbody>"
        )
        for ns in model["k8s"]:
            bg, fg = COLOURS.get(ns["state"], ("#ffffff", "#24292f"))
            secrets = "; ".join(
                "%s (%s%s)" % (s["name"], s["state"], ", expires %s" % s["expires_at"] if s.get("expires_at") else "")
                for s in ns["secrets"]
            )
            out.append(
                '<tr><td>%s</td><td>%s</td><td class="state state-%s" data-state="%s" '
                'style="background:%s;color:%s">%s</td><td>%s</td><td>%s</td></tr>'
                % (
                    _e(ns["cluster"]),
                    _e(ns["namespace"]),
                    _e(ns["state"]),
                    _e(ns["state"]),
                    bg,
                    fg,
                    _e(LABELS.get(ns["state"], ns["state"])),
                    _e(secrets),
                    _e(", ".join(ns["service_accounts_without"])),
                )
            )
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _md(text):
    return ("" if text is None else "%s" % text).replace("|", "\\|").replace("\n", " ")


def audit_markdown(model, title="Registry credentials audit"):
    out = [
        "# %s" % title,
        "",
        "%d hosts, %d registries, generated %s." % (model["hosts"], len(model["registries"]), model.get("generated_at") or ""),
        "",
    ]
    out.append(", ".join("%s: %d" % (LABELS[s], model["totals"].get(s, 0)) for s in ORDER if model["totals"].get(s)))
    out += [
        "",
        "| host | " + " | ".join(_md(r) for r in model["registries"]) + " |",
        "| --- |" + " --- |" * len(model["registries"]),
    ]
    for row in model["rows"]:
        cells = [LABELS.get(row["cells"][r]["state"], "") if r in row["cells"] else "" for r in model["registries"]]
        out.append("| %s | %s |" % (_md(row["host"]), " | ".join(_md(c) for c in cells)))
    for key, heading in (
        ("unreachable", "Hosts without a result"),
        ("cluster_errors", "Clusters without a result"),
        ("problems", "File problems"),
        ("drift", "Drift from the desired state"),
    ):
        if model.get(key):
            out += ["", "## " + heading, ""]
            out += ["- **%s**: %s" % (p["host"], _md(p.get("problem") or p.get("msg"))) for p in model[key]]
    if model["k8s"]:
        out += [
            "",
            "## Pull secrets",
            "",
            "| cluster | namespace | state | secrets | service accounts without it |",
            "| --- | --- | --- | --- | --- |",
        ]
        for ns in model["k8s"]:
            out.append(
                "| %s | %s | %s | %s | %s |"
                % (
                    _md(ns["cluster"]),
                    _md(ns["namespace"]),
                    _md(LABELS.get(ns["state"], ns["state"])),
                    _md(", ".join("%s (%s)" % (s["name"], s["state"]) for s in ns["secrets"])),
                    _md(", ".join(ns["service_accounts_without"])),
                )
            )
    return "\n".join(out) + "\n"


def audit_json(model):
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "audit_model": audit_model,
            "audit_html": audit_html,
            "audit_markdown": audit_markdown,
            "audit_json": audit_json,
            "audit_targets": audit_targets,
            "audit_expected": audit_expected,
        }
