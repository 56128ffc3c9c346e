"""Stand-in for the get-pip.py script ansible-test downloads from a host this
machine cannot reach: bootstrap the pip bundled with CPython (ensurepip), then
let it install the pinned pip/setuptools/wheel that ansible-test asked for from PyPI.
tests/setup/sanity.sh puts it where ansible-test caches get-pip (~/.ansible/test/cache).

ansible-test runs pip with a filtered environment, so a CA bundle given to pip
through the environment (PIP_CERT, as behind a TLS-intercepting proxy) is lost;
it is written into the venv's own pip.conf instead, for every later pip call there."""

import ensurepip
import os
import subprocess
import sys

CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")

if __name__ == "__main__":
    cert = os.environ.get("PIP_CERT") or next((c for c in CA_BUNDLES if os.path.exists(c)), None)
    if cert and sys.prefix != sys.base_prefix:
        with open(os.path.join(sys.prefix, "pip.conf"), "w") as f:
            f.write("[global]\ncert = %s\n" % cert)
    ensurepip.bootstrap(upgrade=False)
    # ensurepip leaves PIP_CONFIG_FILE=/dev/null behind in this process: drop it so pip.conf counts.
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS")}
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
