#!/usr/bin/env python3
"""Check containerd's registry auth the way containerd reads it (TOML) and prove the
credential is accepted by the registry, sending what containerd would send.

usage: check_containerd.py MODE HOST CA_FILE   (MODE: cri_auth | hosts)
"""

import base64
import ssl
import sys
import tomllib
import urllib.request

mode, host, ca = sys.argv[1:4]


def registry_accepts(header):
    req = urllib.request.Request("https://%s/v2/" % host, headers={"Authorization": header})  # noqa: S310 (https only)
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(req, context=ctx, timeout=20) as resp:  # noqa: S310
        return resp.status == 200


if mode == "cri_auth":
    # the auth is a block of config.toml itself (an imported file would replace the CRI section)
    with open("/etc/containerd/config.toml", "rb") as f:
        main = tomllib.load(f)
    cri = main["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"]  # the rest is kept
    auth = cri["registry"]["configs"][host]["auth"]
    token = base64.b64encode(("%s:%s" % (auth["username"], auth["password"])).encode()).decode()
    assert registry_accepts("Basic " + token)
elif mode == "hosts":
    with open("/etc/containerd/certs.d/%s/hosts.toml" % host, "rb") as f:
        hosts = tomllib.load(f)
    assert hosts["server"] == "https://" + host
    entry = hosts["host"]["https://" + host]
    assert set(entry["capabilities"]) == {"pull", "resolve"}
    assert registry_accepts(entry["header"]["Authorization"])
else:
    sys.exit("unknown mode " + mode)
print("ok")
